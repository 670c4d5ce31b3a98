// SPDX-License-Identifier: Apache-2.0
// otlp-sink: an OTLP/gRPC profiles receiver for the benchmarks' peers. Each
// sample it is sent becomes a few lines of text in -out (one "S" line, then
// one "F" line per frame, leaf first) that a benchmark reads without an
// OTLP decoder of its own; -addr-file gets the address once it listens.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/pprofile/pprofileotlp"
	"google.golang.org/grpc"
	// The profiler gzips its requests.
	_ "google.golang.org/grpc/encoding/gzip"
)

type sink struct {
	pprofileotlp.UnimplementedGRPCServer
	mu       sync.Mutex
	w        *bufio.Writer
	requests uint64
	samples  uint64
}

// clean keeps a field on its line: no tabs, no newlines, never empty.
func clean(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

func str(d pprofile.ProfilesDictionary, i int32) string {
	if i < 0 || int(i) >= d.StringTable().Len() {
		return ""
	}
	return d.StringTable().At(int(i))
}

// attrs looks up @keys among the dictionary attributes @idx points at.
func attrs(d pprofile.ProfilesDictionary, idx pcommon.Int32Slice, keys map[string]*string) {
	for i := 0; i < idx.Len(); i++ {
		j := int(idx.At(i))
		if j < 0 || j >= d.AttributeTable().Len() {
			continue
		}
		kv := d.AttributeTable().At(j)
		if p, ok := keys[str(d, kv.KeyStrindex())]; ok {
			*p = kv.Value().AsString()
		}
	}
}

func (s *sink) write(pd pprofile.Profiles) {
	d := pd.Dictionary()
	rps := pd.ResourceProfiles()
	for i := 0; i < rps.Len(); i++ {
		rp := rps.At(i)
		pid := "-"
		if v, ok := rp.Resource().Attributes().Get("process.pid"); ok {
			pid = v.AsString()
		}
		sps := rp.ScopeProfiles()
		for j := 0; j < sps.Len(); j++ {
			ps := sps.At(j).Profiles()
			for k := 0; k < ps.Len(); k++ {
				s.writeProfile(d, pid, ps.At(k))
			}
		}
	}
}

func (s *sink) writeProfile(d pprofile.ProfilesDictionary, pid string, p pprofile.Profile) {
	for i := 0; i < p.Samples().Len(); i++ {
		sm := p.Samples().At(i)
		tid, comm := "-", "-"
		attrs(d, sm.AttributeIndices(), map[string]*string{
			"thread.id": &tid, "thread.name": &comm})
		count := sm.TimestampsUnixNano().Len()
		if count == 0 {
			count = 1
		}
		var locs pcommon.Int32Slice
		si := int(sm.StackIndex())
		if si >= 0 && si < d.StackTable().Len() {
			locs = d.StackTable().At(si).LocationIndices()
		} else {
			locs = pcommon.NewInt32Slice()
		}
		fmt.Fprintf(s.w, "S\t%s\t%s\t%d\t%d\t%s\n", pid, tid, count, locs.Len(), clean(comm))
		for f := 0; f < locs.Len(); f++ {
			s.writeFrame(d, locs.At(f))
		}
		s.samples += uint64(count)
	}
}

// One frame: its type, address, mapping (file, start, limit, file offset)
// and function name when the profiler resolved one (interpreters, kernel).
func (s *sink) writeFrame(d pprofile.ProfilesDictionary, li int32) {
	typ, file, fn := "", "", ""
	var start, limit, off uint64
	if li < 0 || int(li) >= d.LocationTable().Len() {
		fmt.Fprintf(s.w, "F\t-\t0x0\t-\t0x0\t0x0\t0x0\t-\n")
		return
	}
	loc := d.LocationTable().At(int(li))
	attrs(d, loc.AttributeIndices(), map[string]*string{"profile.frame.type": &typ})
	if mi := int(loc.MappingIndex()); mi > 0 && mi < d.MappingTable().Len() {
		m := d.MappingTable().At(mi)
		file = str(d, m.FilenameStrindex())
		start, limit, off = m.MemoryStart(), m.MemoryLimit(), m.FileOffset()
	}
	if loc.Lines().Len() > 0 {
		fi := int(loc.Lines().At(0).FunctionIndex())
		if fi > 0 && fi < d.FunctionTable().Len() {
			fn = str(d, d.FunctionTable().At(fi).NameStrindex())
		}
	}
	fmt.Fprintf(s.w, "F\t%s\t%#x\t%s\t%#x\t%#x\t%#x\t%s\n", clean(typ), loc.Address(),
		clean(file), start, limit, off, clean(fn))
}

func (s *sink) Export(_ context.Context, req pprofileotlp.ExportRequest) (pprofileotlp.ExportResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.write(req.Profiles())
	// A reader polls the file: each request lands whole.
	if err := s.w.Flush(); err != nil {
		return pprofileotlp.NewExportResponse(), err
	}
	return pprofileotlp.NewExportResponse(), nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (port 0: any free port)")
	out := flag.String("out", "", "file the samples are appended to (required)")
	addrFile := flag.String("addr-file", "", "file the listening address is written to once it listens")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "otlp-sink: -out FILE is required")
		os.Exit(2)
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "otlp-sink:", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "otlp-sink:", err)
		os.Exit(1)
	}
	s := &sink{w: bufio.NewWriterSize(f, 1<<20)}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
	pprofileotlp.RegisterGRPCServer(srv, s)
	if *addrFile != "" {
		tmp := *addrFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(ln.Addr().String()+"\n"), 0o644); err == nil {
			err = os.Rename(tmp, *addrFile)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "otlp-sink:", err)
			os.Exit(1)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		srv.GracefulStop()
	}()
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "otlp-sink:", err)
	}
	s.mu.Lock()
	s.w.Flush()
	f.Close()
	fmt.Fprintf(os.Stderr, "otlp-sink: %d requests, %d samples\n", s.requests, s.samples)
	s.mu.Unlock()
}
