// SPDX-License-Identifier: Apache-2.0
// The pyroscope_otlp exporter's factory: what the collector's component
// table holds. Profiles only; the exporter helper gives it the queue, the
// retries and the otelcol_exporter_* metrics every exporter has.
package pyroscopeotlp

import (
	"context"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/exporter/xexporter"
)

// Type is the exporter's name in a collector configuration.
var Type = component.MustNewType("pyroscope_otlp")

// NewFactory returns the pyroscope_otlp exporter's factory.
func NewFactory() exporter.Factory {
	return xexporter.NewFactory(Type, createDefaultConfig,
		xexporter.WithProfiles(createProfiles, component.StabilityLevelDevelopment))
}

func createProfiles(ctx context.Context, set exporter.Settings,
	cfg component.Config) (xexporter.Profiles, error) {
	c := cfg.(*Config)
	e := newExporter(c, set)
	return xexporterhelper.NewProfiles(ctx, set, cfg, e.push,
		exporterhelper.WithStart(e.start),
		// push works on a copy: the data other exporters see is untouched.
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		// The HTTP client's timeout bounds each request.
		exporterhelper.WithTimeout(exporterhelper.TimeoutConfig{}),
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithQueue(c.QueueConfig))
}

func profilesURL(endpoint string) string {
	return strings.TrimSuffix(endpoint, "/") + "/v1development/profiles"
}
