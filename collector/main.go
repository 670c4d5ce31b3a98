// SPDX-License-Identifier: Apache-2.0
// otelcol-tgprof: tgprof's OpenTelemetry Collector distribution (collector
// core v0.165.0). OTLP comes in from every node's tgprof, or the tgprof
// receiver (./tgprofreceiver, libtgprof_receiver.so through cgo) samples the
// node inside the collector itself; k8s_attributes adds the pods' names, and
// pyroscope_otlp (./pyroscopeotlp) sends the profiles to Grafana Pyroscope in
// the form its OTLP ingest reads. builder-config.yaml describes the same
// distribution for the OpenTelemetry Collector Builder. The deployment
// (deploy/kubernetes), the deploy tests' `validate`, the end-to-end tests and
// the Pyroscope tests all run this one build; "jsonfile" is for the tests.
package main

import (
	"log"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/k8sattributesprocessor"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"tgprof.dev/collector/pyroscopeotlp"
	"tgprof.dev/collector/tgprofreceiver"
)

// Version is the collector core release this distribution is built from.
const Version = "0.165.0"

func components() (otelcol.Factories, error) {
	var err error
	f := otelcol.Factories{Telemetry: otelconftelemetry.NewFactory()}
	f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](
		otlpreceiver.NewFactory(), tgprofreceiver.NewFactory())
	if err != nil {
		return f, err
	}
	// batch is here although it refuses profiles in v0.165.0: the deploy
	// tests check that refusal, which is why the deployment batches in the
	// exporter's queue.
	f.Processors, err = otelcol.MakeFactoryMap[processor.Factory](
		k8sattributesprocessor.NewFactory(), batchprocessor.NewFactory())
	if err != nil {
		return f, err
	}
	// otlp_grpc and otlp_http stay for other backends (and for the tests
	// that show Pyroscope refusing what they send); pyroscope_otlp is the
	// one for Pyroscope.
	f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](
		pyroscopeotlp.NewFactory(), otlpexporter.NewFactory(),
		otlphttpexporter.NewFactory(), debugexporter.NewFactory(),
		newJSONFileFactory())
	return f, err
}

func main() {
	set := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "otelcol-tgprof",
			Description: "OpenTelemetry Collector distribution for tgprof",
			Version:     Version,
		},
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				// ${NAME} reads the environment, as in the
				// upstream distributions.
				DefaultScheme: "env",
				ProviderFactories: []confmap.ProviderFactory{
					fileprovider.NewFactory(),
					envprovider.NewFactory(),
				},
			},
		},
	}
	if err := otelcol.NewCommand(set).Execute(); err != nil {
		log.Fatal(err)
	}
}
