// SPDX-License-Identifier: Apache-2.0
// Profiles from the pipeline in, the bytes of an OTLP ExportProfilesService
// request out, with resource and scope attributes as Pyroscope reads them.
//
// Why here: pdata (v1.71.0, collector v0.165.0) keeps no "plain or
// reference" state, and every way it marshals profiles (the otlp_http and
// otlp_grpc exporters included) rewrites each resource and scope attribute
// to key_strindex and string_value_strindex into the dictionary's string
// table. That is valid OTLP, but Pyroscope (v1.21.1) reads only the plain
// key and string_value/int_value there: it loses service.name, and an int
// attribute becomes a label with an empty name that fails the whole push.
// No processor can change how an exporter marshals, so the fix is after the
// marshal: decode the bytes into the generated OTLP types, resolve those
// references from the string table, encode again.
package pyroscopeotlp

import (
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"
	collprof "go.opentelemetry.io/proto/slim/otlp/collector/profiles/v1development"
	commonv1 "go.opentelemetry.io/proto/slim/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// serviceNameKey is kept whatever the allowlist says: Pyroscope's
// service_name label comes from it.
const serviceNameKey = "service.name"

type attributeFilter struct {
	all  bool
	keys map[string]struct{}
}

func newAttributeFilter(keys []string) attributeFilter {
	f := attributeFilter{keys: map[string]struct{}{serviceNameKey: {}}}
	for _, k := range keys {
		if k == AllAttributes {
			f.all = true
		}
		f.keys[k] = struct{}{}
	}
	return f
}

func (f attributeFilter) keeps(key string) bool {
	if f.all {
		return true
	}
	_, ok := f.keys[key]
	return ok
}

// encodeForPyroscope returns the request Pyroscope is sent for @pd. @pd is
// borrowed and left unchanged: the pipeline's other exporters share it.
func encodeForPyroscope(pd pprofile.Profiles, keep attributeFilter) ([]byte, error) {
	cp := pprofile.NewProfiles()
	pd.CopyTo(cp)
	rps := cp.ResourceProfiles()
	for i := 0; i < rps.Len(); i++ {
		rp := rps.At(i)
		labelAttributes(rp.Resource().Attributes(), keep)
		sps := rp.ScopeProfiles()
		for j := 0; j < sps.Len(); j++ {
			labelAttributes(sps.At(j).Scope().Attributes(), keep)
		}
	}
	var m pprofile.ProtoMarshaler
	raw, err := m.MarshalProfiles(cp)
	if err != nil {
		return nil, fmt.Errorf("marshal profiles: %w", err)
	}
	return plainAttributes(raw)
}

// labelAttributes leaves in @attrs what Pyroscope turns into labels: the
// allowed keys, spelled as Pyroscope accepts label names, with string or
// int values (bool and double written as strings: Pyroscope skips them).
// Maps, arrays and bytes go: Pyroscope makes no label of them.
func labelAttributes(attrs pcommon.Map, keep attributeFilter) {
	type kv struct {
		key string
		val pcommon.Value
	}
	var out []kv
	attrs.Range(func(k string, v pcommon.Value) bool {
		if !keep.keeps(k) {
			return true
		}
		name := labelName(k)
		if name == "" {
			return true
		}
		nv := pcommon.NewValueEmpty()
		switch v.Type() {
		case pcommon.ValueTypeStr:
			nv.SetStr(v.Str())
		case pcommon.ValueTypeInt:
			nv.SetInt(v.Int())
		case pcommon.ValueTypeBool, pcommon.ValueTypeDouble:
			nv.SetStr(v.AsString())
		default:
			return true
		}
		out = append(out, kv{name, nv})
		return true
	})
	attrs.Clear()
	attrs.EnsureCapacity(len(out))
	for _, a := range out {
		// A key that two spellings map to keeps its first value, as
		// Pyroscope would.
		if _, dup := attrs.Get(a.key); dup {
			continue
		}
		a.val.CopyTo(attrs.PutEmpty(a.key))
	}
}

// labelName is @key with every byte Pyroscope refuses in a label name
// (anything but letters, digits, '_' and '.') written as '_', and a leading
// digit prefixed with '_'. Pyroscope refuses the whole series otherwise:
// one k8s label key with a '/' would drop every profile of its pod.
func labelName(key string) string {
	if key == "" {
		return ""
	}
	var b strings.Builder
	if key[0] >= '0' && key[0] <= '9' {
		b.WriteByte('_')
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '_', c == '.':
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// plainAttributes rewrites an encoded ExportProfilesServiceRequest so that
// every resource and scope attribute carries its key in `key` and a string
// value in `string_value`. The dictionary, which Pyroscope reads through
// references (sample attributes, functions, locations), is left as it is.
func plainAttributes(raw []byte) ([]byte, error) {
	var req collprof.ExportProfilesServiceRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		return nil, fmt.Errorf("decode the marshalled request: %w", err)
	}
	st := req.GetDictionary().GetStringTable()
	for _, rp := range req.ResourceProfiles {
		if rp.Resource != nil {
			if err := plainKeyValues(st, rp.Resource.Attributes); err != nil {
				return nil, fmt.Errorf("resource attributes: %w", err)
			}
		}
		for _, sp := range rp.ScopeProfiles {
			if sp.Scope != nil {
				if err := plainKeyValues(st, sp.Scope.Attributes); err != nil {
					return nil, fmt.Errorf("scope attributes: %w", err)
				}
			}
		}
	}
	return proto.Marshal(&req)
}

func stringAt(st []string, i int32) (string, error) {
	if i < 0 || int(i) >= len(st) {
		return "", fmt.Errorf("string index %d outside the string table (%d strings)", i, len(st))
	}
	return st[i], nil
}

func plainKeyValues(st []string, kvs []*commonv1.KeyValue) error {
	for _, kv := range kvs {
		if kv.KeyStrindex != 0 {
			k, err := stringAt(st, kv.KeyStrindex)
			if err != nil {
				return err
			}
			kv.Key, kv.KeyStrindex = k, 0
		}
		// Never send what Pyroscope would turn into a label named "".
		if kv.Key == "" {
			return fmt.Errorf("an attribute without a key")
		}
		if err := plainValue(st, kv.Value); err != nil {
			return fmt.Errorf("%s: %w", kv.Key, err)
		}
	}
	return nil
}

func plainValue(st []string, v *commonv1.AnyValue) error {
	if v == nil {
		return nil
	}
	switch x := v.Value.(type) {
	case *commonv1.AnyValue_StringValueStrindex:
		s, err := stringAt(st, x.StringValueStrindex)
		if err != nil {
			return err
		}
		v.Value = &commonv1.AnyValue_StringValue{StringValue: s}
	case *commonv1.AnyValue_ArrayValue:
		for i, e := range x.ArrayValue.GetValues() {
			if err := plainValue(st, e); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
	case *commonv1.AnyValue_KvlistValue:
		return plainKeyValues(st, x.KvlistValue.GetValues())
	}
	return nil
}
