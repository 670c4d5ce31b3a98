// SPDX-License-Identifier: Apache-2.0
// The pyroscope_otlp exporter's configuration: where Pyroscope is (the HTTP
// client's settings), the queue and retry of every collector exporter, and
// which resource attributes become Pyroscope series labels.
package pyroscopeotlp

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// AllAttributes in resource_labels keeps every resource attribute.
const AllAttributes = "*"

// maxResourceLabels bounds the allowlist: Pyroscope takes at most 30 label
// names per series (its validation.max-label-names-per-series default),
// four of which it sets itself (__name__, __delta__, __otel__,
// service_name), and tgprof's sample attributes need room too.
const maxResourceLabels = 20

// DefaultResourceLabels are the resource attributes sent as Pyroscope labels
// unless resource_labels says otherwise: what users select and group by (the
// service, the host or node, the executable, the pod and its workload), each
// bounded by what runs on a node. The workload names add no series: a pod
// has one. Left out: process.pid and container.id (a new series on every
// restart of a process or container, which Pyroscope keeps as separate
// series for its retention), process.executable.path (the name says the
// same) and the k8s uids.
var DefaultResourceLabels = []string{
	"service.name",
	"service.namespace",
	"host.name",
	"process.executable.name",
	"k8s.namespace.name",
	"k8s.pod.name",
	"k8s.container.name",
	"k8s.node.name",
	"k8s.deployment.name",
	"k8s.statefulset.name",
	"k8s.daemonset.name",
}

// Config of one pyroscope_otlp exporter.
type Config struct {
	// endpoint is Pyroscope's base URL (http://pyroscope:4040);
	// /v1development/profiles is appended.
	ClientConfig confighttp.ClientConfig                                  `mapstructure:",squash"`
	QueueConfig  configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig  configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`
	// ResourceLabels lists the resource (and scope) attribute keys that
	// reach Pyroscope, where each becomes a series label; ["*"] keeps all.
	// service.name is always kept: Pyroscope's service_name comes from it.
	ResourceLabels []string `mapstructure:"resource_labels"`
}

var _ component.Config = (*Config)(nil)

func createDefaultConfig() component.Config {
	cc := confighttp.NewDefaultClientConfig()
	cc.Timeout = 30 * time.Second
	cc.Compression = configcompression.TypeGzip
	return &Config{
		ClientConfig:   cc,
		QueueConfig:    configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		RetryConfig:    configretry.NewDefaultBackOffConfig(),
		ResourceLabels: append([]string(nil), DefaultResourceLabels...),
	}
}

// Validate is called by the collector before the exporter is created.
func (c *Config) Validate() error {
	var errs []error
	if c.ClientConfig.Endpoint == "" {
		errs = append(errs, errors.New("endpoint must be set"))
	}
	if len(c.ResourceLabels) > maxResourceLabels {
		errs = append(errs, fmt.Errorf("resource_labels: %d keys, at most %d (Pyroscope takes 30 labels per series)",
			len(c.ResourceLabels), maxResourceLabels))
	}
	for i, k := range c.ResourceLabels {
		if k == "" {
			errs = append(errs, fmt.Errorf("resource_labels[%d]: empty key", i))
		}
		if k == AllAttributes && len(c.ResourceLabels) != 1 {
			errs = append(errs, fmt.Errorf("resource_labels[%d]: %q must be alone", i, k))
		}
	}
	return errors.Join(errs...)
}
