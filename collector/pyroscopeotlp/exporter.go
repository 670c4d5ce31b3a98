// SPDX-License-Identifier: Apache-2.0
// The pyroscope_otlp exporter: profiles from the pipeline in, one OTLP/HTTP
// request per batch out to Pyroscope's /v1development/profiles, with the
// resource and scope attributes cut to the allowlist and written as plain
// keys and values (plain.go), the form Pyroscope's OTLP ingest reads.
package pyroscopeotlp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pprofile"
)

// maxErrorBody bounds how much of Pyroscope's answer goes into an error.
const maxErrorBody = 4096

type pyroExporter struct {
	cfg    *Config
	set    exporter.Settings
	url    string
	keep   attributeFilter
	client *http.Client
}

func newExporter(cfg *Config, set exporter.Settings) *pyroExporter {
	return &pyroExporter{
		cfg:  cfg,
		set:  set,
		url:  profilesURL(cfg.ClientConfig.Endpoint),
		keep: newAttributeFilter(cfg.ResourceLabels),
	}
}

func (e *pyroExporter) start(ctx context.Context, host component.Host) error {
	cl, err := e.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), e.set.TelemetrySettings)
	if err != nil {
		return err
	}
	e.client = cl
	return nil
}

func (e *pyroExporter) push(ctx context.Context, pd pprofile.Profiles) error {
	body, err := encodeForPyroscope(pd, e.keep)
	if err != nil {
		// The same data would fail the same way.
		return consumererror.NewPermanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	// Pyroscope compares the whole header: no parameters.
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", e.url, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	// Drain what is left so the connection is reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return classify(resp, fmt.Errorf("POST %s: HTTP %d: %s", e.url, resp.StatusCode,
		strings.TrimSpace(string(msg))))
}

// classify follows the OTLP/HTTP rules: 429, 502, 503 and 504 are retried
// (after Retry-After when given), everything else is permanent. Pyroscope
// answers 400 for data it refuses (labels, limits) and 500 for data it
// cannot convert; neither heals by sending the same bytes again.
func classify(resp *http.Response, err error) error {
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && secs > 0 {
			return exporterhelper.NewThrottleRetry(err, time.Duration(secs)*time.Second)
		}
		return err
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		return err
	}
	return consumererror.NewPermanent(err)
}
