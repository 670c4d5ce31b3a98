// SPDX-License-Identifier: Apache-2.0
// The tgprof receiver's lifecycle in a collector: Start loads the plugin,
// hands it the configuration and starts it (failing fast with the plugin's
// reason); the plugin's thread then offers each serialized OTLP
// ExportProfilesServiceRequest, which becomes pprofile.Profiles for the
// next consumer, whose answer goes back as OK, retry or permanent.
// Shutdown is idempotent, valid before Start, flushes within its context's
// deadline and joins the plugin's thread.
package tgprofreceiver

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/xconsumer"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/collector/receiver/receiverhelper/xreceiverhelper"
	"go.uber.org/zap"
)

// The ABI's enum tgprof_consume_result.
const (
	consumeOK        = 0
	consumeRetry     = 1
	consumePermanent = 2
)

// defaultShutdownTimeout bounds the last flush when Shutdown's context has
// no deadline (the collector's own shutdown gives none).
const defaultShutdownTimeout = 10 * time.Second

type state int

const (
	stateCreated state = iota
	stateStarted
	stateShut
)

type tgprofReceiver struct {
	set    receiver.Settings
	cfg    *Config
	next   xconsumer.Profiles
	obsrep *xreceiverhelper.ObsReport // otelcol_receiver_*_profile_samples

	mu    sync.Mutex
	state state
	inst  *instance

	// Read by the plugin's thread through the callbacks.
	statusMu sync.Mutex
	host     component.Host // set once Start succeeded
	errMu    sync.Mutex
	lastErr  string // the last error the plugin logged

	ctx    context.Context // the consumer's, cancelled after shutdown
	cancel context.CancelFunc
}

func newReceiver(set receiver.Settings, cfg *Config,
	next xconsumer.Profiles) (*tgprofReceiver, error) {
	obsrep, err := xreceiverhelper.NewObsReport(
		receiverhelper.ObsReportSettings{ReceiverID: set.ID,
			Transport: "ebpf", ReceiverCreateSettings: set})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &tgprofReceiver{set: set, cfg: cfg, next: next, obsrep: obsrep,
		ctx: ctx, cancel: cancel}, nil
}

// Start loads the plugin and starts sampling. The plugin's start returns
// quickly and says why it failed (bad config, plugin missing, no
// privilege, no BTF, the kernel refusing the programs): that reason is
// the error, and nothing is left loaded.
func (r *tgprofReceiver) Start(_ context.Context, host component.Host) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.state {
	case stateStarted:
		return errors.New("tgprof receiver already started")
	case stateShut:
		return errors.New("tgprof receiver was shut down")
	}
	inst, err := newInstance(r)
	if err != nil {
		return err
	}
	if err := inst.start(); err != nil {
		inst.destroy()
		return err
	}
	r.inst = inst
	r.state = stateStarted
	r.statusMu.Lock()
	r.host = host
	r.statusMu.Unlock()
	return nil
}

// Shutdown stops sampling, offers the last interval to the consumer until
// ctx's deadline (10 s without one), joins the plugin's thread and frees
// it. Twice, or before Start, it does nothing.
func (r *tgprofReceiver) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state != stateStarted {
		r.state = stateShut
		r.cancel()
		return nil
	}
	timeout := defaultShutdownTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
		if timeout < 0 {
			timeout = 0
		}
	}
	r.statusMu.Lock()
	r.host = nil
	r.statusMu.Unlock()
	// The plugin waits for a consumer call under way even past its
	// deadline: at the deadline, that call's context is cancelled.
	deadline := time.AfterFunc(timeout, r.cancel)
	defer deadline.Stop()
	r.inst.shutdown(timeout)
	r.inst.destroy()
	r.inst = nil
	r.state = stateShut
	r.cancel()
	return nil
}

// consume takes one serialized request, borrowed for the call, from the
// plugin's thread and answers with the ABI's result.
func (r *tgprofReceiver) consume(req []byte) int {
	var u pprofile.ProtoUnmarshaler
	pd, err := u.UnmarshalProfiles(req)
	if err != nil {
		r.set.Logger.Error("tgprof: a request pdata cannot read: "+
			"dropped", zap.Int("bytes", len(req)), zap.Error(err))
		return consumePermanent
	}
	n := pd.SampleCount()
	ctx := r.obsrep.StartProfilesOp(r.ctx)
	err = r.next.ConsumeProfiles(ctx, pd)
	r.obsrep.EndProfilesOp(ctx, "protobuf", n, err)
	return resultOf(err)
}

// resultOf maps the next consumer's answer onto the ABI: nil is taken, a
// permanent error (consumererror.NewPermanent) is dropped and counted by
// the plugin, anything else is offered again later.
func resultOf(err error) int {
	switch {
	case err == nil:
		return consumeOK
	case consumererror.IsPermanent(err):
		return consumePermanent
	default:
		return consumeRetry
	}
}

// The ABI's enum tgprof_log_level.
func (r *tgprofReceiver) log(level int, msg string) {
	l := r.set.Logger
	switch level {
	case 0:
		r.errMu.Lock()
		r.lastErr = msg
		r.errMu.Unlock()
		l.Error(msg)
	case 1:
		l.Warn(msg)
	case 2:
		l.Info(msg)
	default:
		l.Debug(msg)
	}
}

func (r *tgprofReceiver) lastError() string {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	return r.lastErr
}

// status forwards the plugin's error and recovery reports once running;
// starting and stopping the collector reports itself.
func (r *tgprofReceiver) status(st int, msg string) {
	r.statusMu.Lock()
	defer r.statusMu.Unlock()
	if r.host == nil {
		return
	}
	var ev *componentstatus.Event
	switch st {
	case 2: // TGPROF_STATUS_OK
		ev = componentstatus.NewEvent(componentstatus.StatusOK)
	case 3: // TGPROF_STATUS_RECOVERABLE_ERROR
		ev = componentstatus.NewRecoverableErrorEvent(errors.New(msg))
	case 4: // TGPROF_STATUS_PERMANENT_ERROR
		ev = componentstatus.NewPermanentErrorEvent(errors.New(msg))
	default:
		return
	}
	componentstatus.ReportStatus(r.host, ev)
}
