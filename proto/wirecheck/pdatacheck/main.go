// SPDX-License-Identifier: Apache-2.0
// pdatacheck decodes ExportProfilesServiceRequest files with the
// OpenTelemetry Collector's own pdata and merges each into an empty batch,
// which checks every dictionary index the way the exporter batcher does.
package main

import (
	"fmt"
	"os"

	"go.opentelemetry.io/collector/pdata/pprofile"
)

func main() {
	failed := false
	for _, path := range os.Args[1:] {
		b, err := os.ReadFile(path)
		if err != nil {
			panic(err)
		}
		p, err := (&pprofile.ProtoUnmarshaler{}).UnmarshalProfiles(b)
		if err != nil {
			fmt.Printf("%s: does not decode: %v\n", path, err)
			failed = true
			continue
		}
		resources, samples := p.ResourceProfiles().Len(), p.SampleCount()
		dst := pprofile.NewProfiles()
		if err := p.MergeTo(dst); err != nil {
			fmt.Printf("%s: refused by the batcher: %v\n", path, err)
			failed = true
			continue
		}
		fmt.Printf("%s: ok: %d resources, %d samples (%d after the merge)\n",
			path, resources, samples, dst.SampleCount())
	}
	if failed {
		os.Exit(1)
	}
}
