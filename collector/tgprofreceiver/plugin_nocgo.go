// SPDX-License-Identifier: Apache-2.0
// Without cgo (the static collector image, CGO_ENABLED=0) there is no way
// to load libtgprof_receiver.so: a configuration naming the tgprof
// receiver is refused with that reason; the rest of the collector works.
//go:build !cgo

package tgprofreceiver

import (
	"errors"
	"time"
)

var errNoCgo = errors.New("this collector was built without cgo: it " +
	"cannot load libtgprof_receiver.so (build it with CGO_ENABLED=1)")

type instance struct{}

func validateConfig(*Config) error                   { return errNoCgo }
func newInstance(*tgprofReceiver) (*instance, error) { return nil, errNoCgo }
func (*instance) start() error                       { return errNoCgo }
func (*instance) shutdown(time.Duration)             {}
func (*instance) destroy()                           {}
