// SPDX-License-Identifier: Apache-2.0
package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type manifestModule struct {
	GoMod  string `yaml:"gomod"`
	Import string `yaml:"import"`
}

type manifest struct {
	Dist struct {
		Name       string `yaml:"name"`
		Version    string `yaml:"version"`
		OutputPath string `yaml:"output_path"`
		CGo        bool   `yaml:"cgo_enabled"`
	} `yaml:"dist"`
	Receivers  []manifestModule `yaml:"receivers"`
	Processors []manifestModule `yaml:"processors"`
	Exporters  []manifestModule `yaml:"exporters"`
	Providers  []manifestModule `yaml:"providers"`
	Replaces   []string         `yaml:"replaces"`
}

func readManifest(t *testing.T) manifest {
	t.Helper()
	b, err := os.ReadFile("builder-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// mainFactories: the import paths of the packages whose NewFactory
// main.go calls (the component table and the config providers).
func mainFactories(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]string{}
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		name := filepath.Base(p)
		if im.Name != nil {
			name = im.Name.Name
		}
		byName[name] = p
	}
	seen := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "NewFactory" {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); ok && byName[x.Name] != "" {
			seen[byName[x.Name]] = true
		}
		return true
	})
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// The manifest describes main.go's distribution: the same components and
// providers (ocb adds the telemetry factory itself; jsonfile, main.go's
// own, is the tests'), at the versions go.mod requires.
func TestBuilderManifestMatchesMainGo(t *testing.T) {
	m := readManifest(t)
	if m.Dist.Name != "otelcol-tgprof" || m.Dist.Version != Version {
		t.Errorf("dist %s %s, main.go builds otelcol-tgprof %s",
			m.Dist.Name, m.Dist.Version, Version)
	}
	if !m.Dist.CGo {
		t.Error("cgo_enabled is off: the tgprof receiver needs cgo")
	}
	b, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	// go.mod's requirements: "\tPATH VERSION" lines.
	required := map[string]string{}
	self := ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "module":
			self = f[1]
		case len(f) >= 2 && strings.HasPrefix(line, "\t"):
			required[f[0]] = f[1]
		}
	}
	var listed []string
	for _, group := range [][]manifestModule{m.Receivers, m.Processors,
		m.Exporters, m.Providers} {
		for _, c := range group {
			path, version, _ := strings.Cut(c.GoMod, " ")
			imp := c.Import
			if imp == "" {
				imp = path
			}
			listed = append(listed, imp)
			if path == self {
				continue // this module, through the replace
			}
			if required[path] != version {
				t.Errorf("%s %s in the manifest, %s in go.mod", path,
					version, required[path])
			}
		}
	}
	sort.Strings(listed)
	var want []string
	for _, p := range mainFactories(t) {
		if !strings.HasSuffix(p, "/otelconftelemetry") {
			want = append(want, p)
		}
	}
	if strings.Join(listed, "\n") != strings.Join(want, "\n") {
		t.Errorf("the manifest lists\n  %s\nmain.go builds\n  %s",
			strings.Join(listed, "\n  "), strings.Join(want, "\n  "))
	}
}

// ocb (v0.165.0, from the Go module proxy) generates and builds the
// manifest's distribution, and the binary it made has the tgprof receiver.
func TestBuilderManifestBuildsWithOcb(t *testing.T) {
	src, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("builder-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	// The output somewhere else: the relative replaces become absolute.
	text := strings.Replace(string(b), "output_path: ./_ocb",
		"output_path: "+filepath.Join(out, "dist"), 1)
	text = strings.ReplaceAll(text, "=> ../", "=> "+src+"/")
	cfg := filepath.Join(out, "builder-config.yaml")
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run",
		"go.opentelemetry.io/collector/cmd/builder@v0.165.0",
		"--config", cfg)
	cmd.Dir = out
	// ocb runs go mod tidy and go build in its own module.
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ocb: %v\n%s", err, b)
	}
	bin := filepath.Join(out, "dist", "otelcol-tgprof")
	b, err = exec.Command(bin, "components").CombinedOutput()
	if err != nil {
		t.Fatalf("%s components: %v\n%s", bin, err, b)
	}
	for _, name := range []string{"tgprof", "otlp", "k8s_attributes",
		"pyroscope_otlp", "otlp_http"} {
		if !strings.Contains(string(b), "- name: "+name+"\n") {
			t.Errorf("ocb's otelcol-tgprof has no %s:\n%s", name, b)
		}
	}
}
