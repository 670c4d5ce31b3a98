// SPDX-License-Identifier: Apache-2.0
// The "jsonfile" exporter: every profiles request that reaches it becomes one
// line of OTLP/JSON (pprofile.JSONMarshaler) appended to `path`, written
// before the receiver answers, so a test that saw HTTP 200 finds the line.
package main

import (
	"context"
	"errors"
	"os"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/xconsumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/xexporter"
	"go.opentelemetry.io/collector/pdata/pprofile"
)

type jsonFileConfig struct {
	Path string `mapstructure:"path"`
}

func (c *jsonFileConfig) Validate() error {
	if c.Path == "" {
		return errors.New("path must be set")
	}
	return nil
}

type jsonFileExporter struct {
	xconsumer.Profiles
	path string
	mu   sync.Mutex
	file *os.File
}

func newJSONFileFactory() exporter.Factory {
	return xexporter.NewFactory(component.MustNewType("jsonfile"),
		func() component.Config { return &jsonFileConfig{} },
		xexporter.WithProfiles(createJSONFile,
			component.StabilityLevelDevelopment))
}

func createJSONFile(_ context.Context, _ exporter.Settings,
	cfg component.Config) (xexporter.Profiles, error) {
	e := &jsonFileExporter{path: cfg.(*jsonFileConfig).Path}
	var err error
	e.Profiles, err = xconsumer.NewProfiles(e.write)
	return e, err
}

func (e *jsonFileExporter) Start(context.Context, component.Host) error {
	f, err := os.OpenFile(e.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.file = f
	e.mu.Unlock()
	return nil
}

func (e *jsonFileExporter) Shutdown(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.file == nil {
		return nil
	}
	err := e.file.Close()
	e.file = nil
	return err
}

func (e *jsonFileExporter) write(_ context.Context, pd pprofile.Profiles) error {
	var m pprofile.JSONMarshaler
	line, err := m.MarshalProfiles(pd)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.file == nil {
		return errors.New("jsonfile exporter is not started")
	}
	// One write call per line: readers never see half a request.
	_, err = e.file.Write(append(line, '\n'))
	return err
}
