// SPDX-License-Identifier: Apache-2.0
// descdump prints the wire facts (message, field, number, cardinality, type,
// packed) of the OTLP profiles messages, one line each, sorted: those the
// OpenTelemetry Collector's pdata links (no argument) or those of a
// FileDescriptorSet file (protoc-c --descriptor_set_out). Packages are left
// out: only what goes on the wire is compared.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	colprof "go.opentelemetry.io/proto/slim/otlp/collector/profiles/v1development"
	common "go.opentelemetry.io/proto/slim/otlp/common/v1"
	prof "go.opentelemetry.io/proto/slim/otlp/profiles/v1development"
	resource "go.opentelemetry.io/proto/slim/otlp/resource/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

func short(n protoreflect.FullName) string {
	s := string(n)
	return s[strings.LastIndex(s, ".")+1:]
}

func message(out *[]string, m protoreflect.MessageDescriptor) {
	fs := m.Fields()
	for i := 0; i < fs.Len(); i++ {
		f := fs.Get(i)
		t := f.Kind().String()
		if f.Message() != nil {
			t = short(f.Message().FullName())
		} else if f.Enum() != nil {
			t = "enum " + short(f.Enum().FullName())
		}
		oneof := ""
		if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
			oneof = " oneof=" + string(o.Name())
		}
		*out = append(*out, fmt.Sprintf("%s.%s = %d %s %s packed=%v%s",
			short(m.FullName()), f.Name(), f.Number(), f.Cardinality(), t,
			f.IsPacked(), oneof))
	}
	rr := m.ReservedRanges()
	for i := 0; i < rr.Len(); i++ {
		*out = append(*out, fmt.Sprintf("%s reserved %d-%d",
			short(m.FullName()), rr.Get(i)[0], rr.Get(i)[1]-1))
	}
	ms := m.Messages()
	for i := 0; i < ms.Len(); i++ {
		message(out, ms.Get(i))
	}
}

func file(out *[]string, fd protoreflect.FileDescriptor) {
	ms := fd.Messages()
	for i := 0; i < ms.Len(); i++ {
		message(out, ms.Get(i))
	}
}

func main() {
	var out []string
	if len(os.Args) > 1 {
		b, err := os.ReadFile(os.Args[1])
		if err != nil {
			panic(err)
		}
		var set descriptorpb.FileDescriptorSet
		if err := proto.Unmarshal(b, &set); err != nil {
			panic(err)
		}
		files, err := protodesc.NewFiles(&set)
		if err != nil {
			panic(err)
		}
		files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
			file(&out, fd)
			return true
		})
	} else {
		for _, fd := range []protoreflect.FileDescriptor{
			colprof.File_opentelemetry_proto_collector_profiles_v1development_profiles_service_proto,
			prof.File_opentelemetry_proto_profiles_v1development_profiles_proto,
			common.File_opentelemetry_proto_common_v1_common_proto,
			resource.File_opentelemetry_proto_resource_v1_resource_proto,
		} {
			file(&out, fd)
		}
	}
	sort.Strings(out)
	for _, l := range out {
		fmt.Println(l)
	}
}
