// SPDX-License-Identifier: Apache-2.0
// What pyroscope_otlp sends, checked on the bytes: plain resource and scope
// attributes, only the allowed keys, label names Pyroscope accepts, the
// pipeline's data untouched, and Pyroscope's answers sorted into retry or
// drop.
package pyroscopeotlp

import (
	"errors"
	"net/http"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pprofile"
	collprof "go.opentelemetry.io/proto/slim/otlp/collector/profiles/v1development"
	commonv1 "go.opentelemetry.io/proto/slim/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// tgprofLike is one process's profile with the resource tgprof sends.
func tgprofLike() pprofile.Profiles {
	pd := pprofile.NewProfiles()
	rp := pd.ResourceProfiles().AppendEmpty()
	a := rp.Resource().Attributes()
	a.PutStr("service.name", "spin_named")
	a.PutStr("host.name", "node-1")
	a.PutStr("process.executable.name", "spin_named")
	a.PutStr("process.executable.path", "/usr/bin/spin_named")
	a.PutInt("process.pid", 4242)
	a.PutStr("container.id", "0123456789ab")
	a.PutStr("k8s.pod.label.app.kubernetes.io/name", "web")
	a.PutBool("k8s.flag", true)
	sp := rp.ScopeProfiles().AppendEmpty()
	sp.Scope().SetName("tgprof")
	sp.Scope().Attributes().PutInt("scope.int", 7)
	sp.Profiles().AppendEmpty()
	return pd
}

func decode(t *testing.T, raw []byte) *collprof.ExportProfilesServiceRequest {
	t.Helper()
	var req collprof.ExportProfilesServiceRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	return &req
}

// attrs maps each attribute to its value as Pyroscope reads it, failing on
// any reference Pyroscope would not read.
func attrs(t *testing.T, kvs []*commonv1.KeyValue) map[string]any {
	t.Helper()
	m := map[string]any{}
	for _, kv := range kvs {
		if kv.Key == "" || kv.KeyStrindex != 0 {
			t.Fatalf("attribute key not plain: %v", kv)
		}
		switch v := kv.Value.Value.(type) {
		case *commonv1.AnyValue_StringValue:
			m[kv.Key] = v.StringValue
		case *commonv1.AnyValue_IntValue:
			m[kv.Key] = v.IntValue
		default:
			t.Fatalf("%s: value Pyroscope does not read: %v", kv.Key, kv.Value)
		}
	}
	return m
}

func TestPdataMarshalReferencesResourceAttributes(t *testing.T) {
	// The reason for this exporter: if pdata stops doing this, the
	// rewrite may go (docs/OPERATIONS.md).
	var m pprofile.ProtoMarshaler
	raw, err := m.MarshalProfiles(tgprofLike())
	if err != nil {
		t.Fatal(err)
	}
	kv := decode(t, raw).ResourceProfiles[0].Resource.Attributes[0]
	if kv.Key != "" || kv.KeyStrindex == 0 {
		t.Fatalf("pdata now writes plain keys: %v", kv)
	}
}

func TestDefaultAllowlistSendsPlainNamedLabels(t *testing.T) {
	raw, err := encodeForPyroscope(tgprofLike(), newAttributeFilter(DefaultResourceLabels))
	if err != nil {
		t.Fatal(err)
	}
	req := decode(t, raw)
	got := attrs(t, req.ResourceProfiles[0].Resource.Attributes)
	want := map[string]any{"service.name": "spin_named", "host.name": "node-1",
		"process.executable.name": "spin_named"}
	if len(got) != len(want) {
		t.Fatalf("resource attributes %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	if s := attrs(t, req.ResourceProfiles[0].ScopeProfiles[0].Scope.Attributes); len(s) != 0 {
		t.Fatalf("scope attributes outside the allowlist: %v", s)
	}
}

func TestAllAttributesKeepsIntsNamedAndSanitisesKeys(t *testing.T) {
	raw, err := encodeForPyroscope(tgprofLike(), newAttributeFilter([]string{AllAttributes}))
	if err != nil {
		t.Fatal(err)
	}
	req := decode(t, raw)
	got := attrs(t, req.ResourceProfiles[0].Resource.Attributes)
	if got["process.pid"] != int64(4242) {
		t.Fatalf("process.pid = %v, want the int 4242: %v", got["process.pid"], got)
	}
	if got["k8s.pod.label.app.kubernetes.io_name"] != "web" {
		t.Fatalf("a key with '/' was not made a valid label name: %v", got)
	}
	if got["k8s.flag"] != "true" {
		t.Fatalf("a bool was not written as a string: %v", got)
	}
	if len(got) != 8 {
		t.Fatalf("%d attributes, want 8: %v", len(got), got)
	}
	s := attrs(t, req.ResourceProfiles[0].ScopeProfiles[0].Scope.Attributes)
	if s["scope.int"] != int64(7) {
		t.Fatalf("scope attributes: %v", s)
	}
}

func TestThePipelinesDataIsLeftUnchanged(t *testing.T) {
	pd := tgprofLike()
	if _, err := encodeForPyroscope(pd, newAttributeFilter(nil)); err != nil {
		t.Fatal(err)
	}
	a := pd.ResourceProfiles().At(0).Resource().Attributes()
	if a.Len() != 8 {
		t.Fatalf("the input lost attributes: %v", a.AsRaw())
	}
	if v, _ := a.Get("process.pid"); v.Int() != 4242 {
		t.Fatalf("process.pid changed: %v", a.AsRaw())
	}
}

func TestAnOutOfRangeReferenceIsAnError(t *testing.T) {
	raw, _ := proto.Marshal(&collprof.ExportProfilesServiceRequest{})
	if _, err := plainAttributes(raw); err != nil {
		t.Fatalf("an empty request: %v", err)
	}
	if err := plainKeyValues([]string{""}, []*commonv1.KeyValue{{KeyStrindex: 3}}); err == nil {
		t.Fatal("key_strindex 3 of a 1-string table was accepted")
	}
	if err := plainKeyValues([]string{""}, []*commonv1.KeyValue{{Value: &commonv1.AnyValue{
		Value: &commonv1.AnyValue_IntValue{IntValue: 1}}}}); err == nil {
		t.Fatal("an attribute without a key was accepted: Pyroscope would name its label \"\"")
	}
}

func TestLabelNames(t *testing.T) {
	for in, want := range map[string]string{
		"service.name": "service.name",
		"a/b-c d":      "a_b_c_d",
		"1abc":         "_1abc",
		"":             "",
	} {
		if got := labelName(in); got != want {
			t.Errorf("labelName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPyroscopeAnswersAreRetriedOrDropped(t *testing.T) {
	for code, permanent := range map[int]bool{
		400: true, 401: true, 413: true, 500: true,
		429: false, 502: false, 503: false, 504: false,
	} {
		err := classify(&http.Response{StatusCode: code, Header: http.Header{}},
			errors.New("x"))
		if consumererror.IsPermanent(err) != permanent {
			t.Errorf("HTTP %d: permanent=%v, want %v", code,
				consumererror.IsPermanent(err), permanent)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	c := createDefaultConfig().(*Config)
	if err := c.Validate(); err == nil {
		t.Fatal("no endpoint accepted")
	}
	c.ClientConfig.Endpoint = "http://pyroscope:4040"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.ResourceLabels = []string{"*", "host.name"}
	if err := c.Validate(); err == nil {
		t.Fatal(`"*" with other keys accepted`)
	}
	if profilesURL("http://p:4040/") != "http://p:4040/v1development/profiles" {
		t.Fatal(profilesURL("http://p:4040/"))
	}
}
