// SPDX-License-Identifier: Apache-2.0
//go:build cgo

package tgprofreceiver

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/consumer/xconsumer"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// library is the plugin the build made (ctest sets TGPROF_RECEIVER_PLUGIN).
func library(t *testing.T) string {
	t.Helper()
	p := os.Getenv("TGPROF_RECEIVER_PLUGIN")
	if p == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TGPROF_RECEIVER_PLUGIN is not set")
		}
		t.Skip("TGPROF_RECEIVER_PLUGIN is not set")
	}
	return p
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the tgprof receiver needs root (BPF)")
		}
		t.Skip("the tgprof receiver needs root (BPF)")
	}
}

func config(t *testing.T, m map[string]any) *Config {
	t.Helper()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := confmap.NewFromStringMap(m).Unmarshal(cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newTestReceiver(t *testing.T, cfg *Config,
	next xconsumer.Profiles) *tgprofReceiver {
	t.Helper()
	set := receivertest.NewNopSettings(Type)
	r, err := NewFactory().CreateProfiles(context.Background(), set, cfg,
		next)
	if err != nil {
		t.Fatal(err)
	}
	return r.(*tgprofReceiver)
}

func TestPluginKeysValidateThroughThePlugin(t *testing.T) {
	cfg := config(t, map[string]any{
		"library":               library(t),
		"sampling_frequency_hz": 49,
		"report_interval":       "2s",
		"filter":                map[string]any{"include_pid": []any{1, 2}},
	})
	if err := cfg.Validate(); err != nil {
		t.Fatalf("a good configuration refused: %v", err)
	}
}

func TestUnknownKeyFailsValidateWithThePluginsMessage(t *testing.T) {
	cfg := config(t, map[string]any{"library": library(t),
		"sampling_frequency": 49})
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "sampling_frequency:") {
		t.Fatalf("an unknown key passed: %v", err)
	}
	// The plugin's message for an unknown key (config_set's -ENOENT).
	if !strings.Contains(err.Error(), "unknown key") {
		t.Fatalf("not the plugin's message: %v", err)
	}
}

func TestOutOfRangeValueFailsValidateWithItsBounds(t *testing.T) {
	cfg := config(t, map[string]any{"library": library(t),
		"sampling_frequency_hz": 0})
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(),
		"sampling_frequency_hz:") {
		t.Fatalf("an out-of-range value passed: %v", err)
	}
}

func TestMissingLibraryFailsValidateAndStart(t *testing.T) {
	cfg := config(t, map[string]any{"library": "/nonexistent/libtgprof_receiver.so"})
	if err := cfg.Validate(); err == nil ||
		!strings.Contains(err.Error(), "/nonexistent/") {
		t.Fatalf("Validate: %v", err)
	}
	r := newTestReceiver(t, cfg, new(consumertest.ProfilesSink))
	err := r.Start(context.Background(), componenttest.NewNopHost())
	if err == nil || !strings.Contains(err.Error(), "cannot load") {
		t.Fatalf("Start: %v", err)
	}
	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown after a failed Start: %v", err)
	}
}

func TestShutdownBeforeStartAndTwiceIsFine(t *testing.T) {
	r := newTestReceiver(t, config(t, map[string]any{"library": library(t)}),
		new(consumertest.ProfilesSink))
	for i := 0; i < 2; i++ {
		if err := r.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown %d: %v", i, err)
		}
	}
	if err := r.Start(context.Background(),
		componenttest.NewNopHost()); err == nil {
		t.Fatal("Start after Shutdown succeeded")
	}
}

func TestConsumersAnswerMapsOntoTheABI(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, consumeOK},
		{errors.New("queue full"), consumeRetry},
		{consumererror.NewPermanent(errors.New("bad data")),
			consumePermanent},
	} {
		if got := resultOf(c.err); got != c.want {
			t.Errorf("resultOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	r := newTestReceiver(t, createDefaultConfig(),
		new(consumertest.ProfilesSink))
	if got := r.consume([]byte{0xff, 0xff, 0xff}); got != consumePermanent {
		t.Errorf("a request pdata cannot read: %d, want permanent", got)
	}
}

// The plugin started for real (root, BPF): a profile of this test process
// reaches the next consumer; Shutdown joins the thread and a second one
// does nothing.
func TestStartedReceiverDeliversProfilesAndShutsDownTwice(t *testing.T) {
	needRoot(t)
	sink := new(consumertest.ProfilesSink)
	r := newTestReceiver(t, config(t, map[string]any{
		"library":               library(t),
		"sampling_frequency_hz": 997,
		"report_interval":       "1s",
		"filter": map[string]any{
			"include_pid": []any{os.Getpid()}},
	}), sink)
	if err := r.Start(context.Background(),
		componenttest.NewNopHost()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := r.Start(context.Background(),
		componenttest.NewNopHost()); err == nil {
		t.Error("a second Start succeeded")
	}
	// Spin on the CPU until a request arrived (deadline, no sleeps for
	// synchronisation).
	deadline := time.Now().Add(120 * time.Second)
	x := 0
	for sink.SampleCount() == 0 && time.Now().Before(deadline) {
		for i := 0; i < 1000000; i++ {
			x += i ^ x
		}
	}
	_ = x
	ctx, cancel := context.WithTimeout(context.Background(),
		20*time.Second)
	defer cancel()
	if err := r.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := r.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if sink.SampleCount() == 0 {
		t.Fatal("no profile reached the consumer")
	}
	n := 0
	for _, pd := range sink.AllProfiles() {
		n += samples(pd)
	}
	if n == 0 {
		t.Fatalf("%d requests, no samples", len(sink.AllProfiles()))
	}
	t.Logf("%d requests, %d samples", len(sink.AllProfiles()), n)
}

func samples(pd pprofile.Profiles) int {
	n := 0
	rps := pd.ResourceProfiles()
	for i := 0; i < rps.Len(); i++ {
		sps := rps.At(i).ScopeProfiles()
		for j := 0; j < sps.Len(); j++ {
			ps := sps.At(j).Profiles()
			for k := 0; k < ps.Len(); k++ {
				n += ps.At(k).Samples().Len()
			}
		}
	}
	return n
}

// A consumer that never answers on its own (an exporter stuck on a full,
// blocking queue): Shutdown cancels its context at Shutdown's deadline,
// so the plugin's thread is joined and Shutdown returns.
func TestShutdownCancelsAConsumerThatDoesNotAnswer(t *testing.T) {
	needRoot(t)
	entered := make(chan struct{}, 1)
	cancelled := make(chan struct{}, 1)
	stuck, err := xconsumer.NewProfiles(func(ctx context.Context,
		_ pprofile.Profiles) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-ctx.Done()
		select {
		case cancelled <- struct{}{}:
		default:
		}
		return ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	r := newTestReceiver(t, config(t, map[string]any{
		"library":               library(t),
		"sampling_frequency_hz": 997,
		"report_interval":       "1s",
		"filter": map[string]any{
			"include_pid": []any{os.Getpid()}},
	}), stuck)
	if err := r.Start(context.Background(),
		componenttest.NewNopHost()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	done := make(chan struct{})
	go func() {
		x := 0
		for {
			select {
			case <-done:
				return
			default:
			}
			for i := 0; i < 1000000; i++ {
				x += i ^ x
			}
		}
	}()
	select {
	case <-entered:
	case <-time.After(120 * time.Second):
		t.Error("no request reached the consumer")
	}
	close(done)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := r.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if t.Failed() {
		return
	}
	select {
	case <-cancelled:
	default:
		t.Fatal("Shutdown returned while the consumer call was under way")
	}
}
