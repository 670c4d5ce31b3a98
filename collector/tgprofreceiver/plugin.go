// SPDX-License-Identifier: Apache-2.0
// libtgprof_receiver.so through its public ABI (include/tgprof/receiver.h),
// with cgo: dlopen by path (not linked, so the collector runs without the
// library until a configuration names the tgprof receiver, and a missing
// library is an error from Validate/Start, not from the dynamic loader),
// the configuration handed over key by key (config_set, config_validate),
// and the host's callbacks (log, status, consume_profiles) into Go through
// a cgo.Handle.
//go:build cgo

package tgprofreceiver

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tgprof/receiver.h>

extern void tgprofGoLog(void *ctx, int level, char *msg);
extern void tgprofGoStatus(void *ctx, int status, char *msg);
extern int tgprofGoConsume(void *ctx, void *req, size_t len);
extern void tgprofGoReport(void *ctx, char *key, char *problem);

static void shim_log(void *ctx, enum tgprof_log_level l, const char *m)
{
	tgprofGoLog(ctx, (int)l, (char *)m);
}

static void shim_status(void *ctx, enum tgprof_status s, const char *m)
{
	tgprofGoStatus(ctx, (int)s, (char *)m);
}

static enum tgprof_consume_result shim_consume(void *ctx, const void *r,
					       size_t n)
{
	return (enum tgprof_consume_result)tgprofGoConsume(ctx, (void *)r, n);
}

static void shim_report(void *ctx, const char *k, const char *p)
{
	tgprofGoReport(ctx, (char *)k, (char *)p);
}

// The descriptor, or NULL with why in @err. The library stays loaded for
// the process's life once it answered: the descriptor is static in it.
static const struct tgprof_plugin *shim_open(const char *path, char *err,
					     size_t errlen)
{
	const struct tgprof_plugin *(*entry)(uint32_t);
	const struct tgprof_plugin *p;
	void *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!so) {
		snprintf(err, errlen, "%s", dlerror());
		return NULL;
	}
	*(void **)&entry = dlsym(so, TGPROF_PLUGIN_ENTRY);
	if (!entry) {
		snprintf(err, errlen, "%s: no symbol %s", path,
			 TGPROF_PLUGIN_ENTRY);
		goto fail;
	}
	p = entry(TGPROF_ABI_MAJOR);
	if (!p) {
		snprintf(err, errlen, "%s: does not speak ABI %d", path,
			 TGPROF_ABI_MAJOR);
		goto fail;
	}
	if (p->sz < sizeof(*p) || !p->config_new || !p->config_set ||
	    !p->config_validate || !p->config_free || !p->create ||
	    !p->start || !p->shutdown || !p->destroy || !p->stats) {
		snprintf(err, errlen,
			 "%s: ABI %u.%u, older than this host's %d.%d", path,
			 p->abi_major, p->abi_minor, TGPROF_ABI_MAJOR,
			 TGPROF_ABI_MINOR);
		goto fail;
	}
	return p;
fail:
	dlclose(so);
	return NULL;
}

static struct tgprof_config *p_config_new(const struct tgprof_plugin *p)
{
	return p->config_new();
}

static int p_config_set(const struct tgprof_plugin *p,
			struct tgprof_config *c, const char *k, const char *v,
			char *err, size_t errlen)
{
	return p->config_set(c, k, v, err, errlen);
}

static size_t p_config_validate(const struct tgprof_plugin *p,
				const struct tgprof_config *c, uintptr_t ctx)
{
	return p->config_validate(c, shim_report, (void *)ctx);
}

static void p_config_free(const struct tgprof_plugin *p,
			  struct tgprof_config *c)
{
	p->config_free(c);
}

static struct tgprof_host *host_new(uintptr_t ctx)
{
	struct tgprof_host *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->sz = sizeof(*h);
	h->abi_major = TGPROF_ABI_MAJOR;
	h->abi_minor = TGPROF_ABI_MINOR;
	h->ctx = (void *)ctx;
	h->log = shim_log;
	h->report_status = shim_status;
	h->consume_profiles = shim_consume;
	return h;
}

static struct tgprof_receiver *p_create(const struct tgprof_plugin *p,
					const struct tgprof_config *c,
					const struct tgprof_host *h, int *err)
{
	struct tgprof_receiver *r = p->create(c, h);

	*err = r ? 0 : errno;
	return r;
}

static int p_start(const struct tgprof_plugin *p, struct tgprof_receiver *r)
{
	return p->start(r);
}

static int p_shutdown(const struct tgprof_plugin *p,
		      struct tgprof_receiver *r, uint64_t ns)
{
	return p->shutdown(r, ns);
}

static void p_destroy(const struct tgprof_plugin *p, struct tgprof_receiver *r)
{
	p->destroy(r);
}

static int p_stats(const struct tgprof_plugin *p, struct tgprof_receiver *r,
		   struct tgprof_receiver_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->sz = sizeof(*st);
	return p->stats(r, st);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/cgo"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"go.uber.org/zap"
)

const libraryFile = "libtgprof_receiver.so"

type plugin struct {
	d    *C.struct_tgprof_plugin
	path string
	keys map[string]*C.struct_tgprof_config_key
}

var (
	pluginsMu sync.Mutex
	plugins   = map[string]*plugin{}
)

// libraryCandidates: the configured path, or where tgprof itself looks
// (cmd/tgprof/plugin_load.c): next to the binary, ../lib, then the
// loader's search path.
func libraryCandidates(library string) []string {
	if library != "" {
		return []string{library}
	}
	var c []string
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		for _, d := range []string{dir, filepath.Join(dir, "..", "lib")} {
			c = append(c, filepath.Join(d, libraryFile+".1"),
				filepath.Join(d, libraryFile))
		}
	}
	return append(c, libraryFile+".1")
}

func loadPlugin(library string) (*plugin, error) {
	pluginsMu.Lock()
	defer pluginsMu.Unlock()
	if p := plugins[library]; p != nil {
		return p, nil
	}
	var why []string
	for _, path := range libraryCandidates(library) {
		if strings.Contains(path, "/") {
			if _, err := os.Stat(path); err != nil && library == "" {
				continue
			}
		}
		cpath := C.CString(path)
		var buf [512]C.char
		d := C.shim_open(cpath, &buf[0], C.size_t(len(buf)))
		C.free(unsafe.Pointer(cpath))
		if d == nil {
			why = append(why, C.GoString(&buf[0]))
			continue
		}
		p := &plugin{d: d, path: path,
			keys: map[string]*C.struct_tgprof_config_key{}}
		keys := unsafe.Slice(d.config_keys, int(d.config_nkeys))
		for i := range keys {
			p.keys[C.GoString(keys[i].name)] = &keys[i]
		}
		plugins[library] = p
		return p, nil
	}
	return nil, fmt.Errorf("cannot load the tgprof receiver plugin "+
		"(library: %q): %s", library, strings.Join(why, "; "))
}

// scalarText writes a YAML scalar as the plugin's config_set reads it.
func scalarText(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case bool:
		return strconv.FormatBool(t), true
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32,
		uint64:
		return fmt.Sprint(t), true
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1e18 {
			return strconv.FormatInt(int64(t), 10), true
		}
		return strconv.FormatFloat(t, 'f', -1, 64), true
	case float32:
		return scalarText(float64(t))
	}
	return "", false
}

type problems []string

func (p *problems) add(key, msg string) {
	*p = append(*p, key+": "+msg)
}

func (p *plugin) set(cfg *C.struct_tgprof_config, key string, value *string,
	shown string, errs *problems) {
	var buf [512]C.char
	ckey := C.CString(key)
	defer C.free(unsafe.Pointer(ckey))
	var cval *C.char
	if value != nil {
		cval = C.CString(*value)
		defer C.free(unsafe.Pointer(cval))
	}
	if C.p_config_set(p.d, cfg, ckey, cval, &buf[0],
		C.size_t(len(buf))) != 0 {
		msg := C.GoString(&buf[0])
		if msg == "" {
			msg = "refused"
		}
		errs.add(shown, msg)
	}
}

// apply sets every key of @m (nested maps for dotted paths) through
// config_set; a key the plugin does not know goes to it all the same, so
// the message is its own.
func (p *plugin) apply(cfg *C.struct_tgprof_config, prefix string,
	m map[string]any, errs *problems) {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		key, v := prefix+name, m[name]
		k := p.keys[key]
		if k == nil {
			if sub, ok := v.(map[string]any); ok {
				p.apply(cfg, key+".", sub, errs)
				continue
			}
			s, _ := scalarText(v)
			p.set(cfg, key, &s, key, errs)
			continue
		}
		list := k._type == C.TGPROF_CONFIG_STRING_LIST ||
			k._type == C.TGPROF_CONFIG_INT_LIST
		switch t := v.(type) {
		case nil:
			if list && (k.default_value == nil ||
				C.GoString(k.default_value) != "[]") {
				p.set(cfg, key, nil, key, errs)
			}
		case []any:
			if !list {
				errs.add(key, "expected a single value, got a list")
				continue
			}
			if len(t) == 0 && C.GoString(k.default_value) != "[]" {
				p.set(cfg, key, nil, key, errs)
			}
			for i, e := range t {
				s, ok := scalarText(e)
				shown := fmt.Sprintf("%s[%d]", key, i)
				if !ok {
					errs.add(shown, "expected a scalar")
					continue
				}
				p.set(cfg, key, &s, shown, errs)
			}
		case map[string]any:
			errs.add(key, "expected a value, got a mapping")
		default:
			if list {
				errs.add(key, "expected a list")
				continue
			}
			s, _ := scalarText(t)
			p.set(cfg, key, &s, key, errs)
		}
	}
}

// pluginConfig is the plugin's configuration for @c, checked by the
// plugin's config_validate; every problem in the error, one per line.
func pluginConfig(c *Config) (*plugin, *C.struct_tgprof_config, error) {
	p, err := loadPlugin(c.Library)
	if err != nil {
		return nil, nil, err
	}
	cfg := C.p_config_new(p.d)
	if cfg == nil {
		return nil, nil, errors.New("tgprof: config_new failed")
	}
	var errs problems
	p.apply(cfg, "", c.settings, &errs)
	h := cgo.NewHandle(&errs)
	C.p_config_validate(p.d, cfg, C.uintptr_t(h))
	h.Delete()
	if len(errs) > 0 {
		C.p_config_free(p.d, cfg)
		return nil, nil, errors.New(strings.Join(errs, "\n"))
	}
	return p, cfg, nil
}

func validateConfig(c *Config) error {
	p, cfg, err := pluginConfig(c)
	if err == nil {
		C.p_config_free(p.d, cfg)
	}
	return err
}

//export tgprofGoReport
func tgprofGoReport(ctx unsafe.Pointer, key, problem *C.char) {
	errs := cgo.Handle(uintptr(ctx)).Value().(*problems)
	errs.add(C.GoString(key), C.GoString(problem))
}

// instance is one plugin receiver and the host struct it borrows.
type instance struct {
	p      *plugin
	r      *C.struct_tgprof_receiver
	host   *C.struct_tgprof_host
	handle cgo.Handle
	rcv    *tgprofReceiver
}

func newInstance(rcv *tgprofReceiver) (*instance, error) {
	p, cfg, err := pluginConfig(rcv.cfg)
	if err != nil {
		return nil, err
	}
	defer C.p_config_free(p.d, cfg)
	in := &instance{p: p, rcv: rcv, handle: cgo.NewHandle(rcv)}
	in.host = C.host_new(C.uintptr_t(in.handle))
	if in.host == nil {
		in.handle.Delete()
		return nil, errors.New("tgprof: out of memory")
	}
	var cerr C.int
	in.r = C.p_create(p.d, cfg, in.host, &cerr)
	if in.r == nil {
		in.destroy()
		return nil, fmt.Errorf("tgprof: create: %v", syscall.Errno(cerr))
	}
	return in, nil
}

func (in *instance) start() error {
	if ret := C.p_start(in.p.d, in.r); ret != 0 {
		msg := in.rcv.lastError()
		if msg == "" {
			msg = syscall.Errno(-ret).Error()
		}
		return fmt.Errorf("tgprof: %s", msg)
	}
	return nil
}

// shutdown flushes within @timeout, joins the plugin's thread and logs
// the receiver's totals.
func (in *instance) shutdown(timeout time.Duration) {
	ret := C.p_shutdown(in.p.d, in.r, C.uint64_t(timeout.Nanoseconds()))
	var st C.struct_tgprof_receiver_stats
	if C.p_stats(in.p.d, in.r, &st) == 0 {
		in.rcv.set.Logger.Info("tgprof receiver stopped",
			zap.Uint64("samples", uint64(st.samples)),
			zap.Uint64("requests", uint64(st.requests)),
			zap.Uint64("consumed", uint64(st.requests_consumed)),
			zap.Uint64("retries", uint64(st.consume_retries)),
			zap.Uint64("dropped", uint64(st.requests_dropped)),
			zap.Uint64("samples_lost", uint64(st.samples_lost)))
	}
	if ret != 0 {
		in.rcv.set.Logger.Warn("tgprof: shutdown dropped what it " +
			"could not flush in time")
	}
}

func (in *instance) destroy() {
	if in.r != nil {
		C.p_destroy(in.p.d, in.r)
		in.r = nil
	}
	if in.host != nil {
		C.free(unsafe.Pointer(in.host))
		in.host = nil
		in.handle.Delete()
	}
}

//export tgprofGoLog
func tgprofGoLog(ctx unsafe.Pointer, level C.int, msg *C.char) {
	cgo.Handle(uintptr(ctx)).Value().(*tgprofReceiver).log(int(level),
		C.GoString(msg))
}

//export tgprofGoStatus
func tgprofGoStatus(ctx unsafe.Pointer, st C.int, msg *C.char) {
	s := ""
	if msg != nil {
		s = C.GoString(msg)
	}
	cgo.Handle(uintptr(ctx)).Value().(*tgprofReceiver).status(int(st), s)
}

//export tgprofGoConsume
func tgprofGoConsume(ctx unsafe.Pointer, req unsafe.Pointer, n C.size_t) C.int {
	buf := C.GoBytes(req, C.int(n))
	return C.int(cgo.Handle(uintptr(ctx)).Value().(*tgprofReceiver).consume(buf))
}
