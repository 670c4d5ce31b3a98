// SPDX-License-Identifier: Apache-2.0
// The tgprof receiver's configuration in a collector: the component's
// section (a confmap) in, kept as it was written; checked and turned into
// the plugin's own configuration only by the plugin (config_set and
// config_validate through the ABI), so the keys, their types, bounds and
// messages are the ones `tgprof run` has. One key is the collector face's:
// `library`, where libtgprof_receiver.so is.
package tgprofreceiver

import (
	"fmt"

	"go.opentelemetry.io/collector/confmap"
)

// Config is the tgprof receiver's section of a collector configuration.
type Config struct {
	// Library is the path of libtgprof_receiver.so; empty: next to the
	// collector's binary, then ../lib, then the dynamic loader's search
	// path (libtgprof_receiver.so.1).
	Library string `mapstructure:"library"`
	// settings holds every other key as the confmap gave it (nested maps
	// for dotted keys); the plugin reads them.
	settings map[string]any
}

func createDefaultConfig() *Config { return &Config{} }

// Unmarshal keeps the section as written: the plugin's key table, not a Go
// struct, says which keys exist.
func (c *Config) Unmarshal(conf *confmap.Conf) error {
	m := conf.ToStringMap()
	if v, ok := m["library"]; ok {
		s, isString := v.(string)
		if v != nil && !isString {
			return fmt.Errorf("library: expected a path, got %v", v)
		}
		c.Library = s
		delete(m, "library")
	}
	c.settings = m
	return nil
}

// Validate has the plugin check the whole configuration: every key it does
// not know, every value out of its type or bounds, every rule across keys,
// each with its key path and the plugin's own message. It loads the
// library (a missing one is an error here, before anything starts).
func (c *Config) Validate() error {
	return validateConfig(c)
}
