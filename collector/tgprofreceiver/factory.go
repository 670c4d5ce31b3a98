// SPDX-License-Identifier: Apache-2.0
// The tgprof receiver's factory, as the collector's component table holds
// it: type "tgprof" (the plugin's name), profiles only (xreceiver).
package tgprofreceiver

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/xconsumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/xreceiver"
)

// Type is the receiver's name in a collector configuration.
var Type = component.MustNewType("tgprof")

// NewFactory gives the collector the tgprof receiver.
func NewFactory() xreceiver.Factory {
	return xreceiver.NewFactory(Type,
		func() component.Config { return createDefaultConfig() },
		xreceiver.WithProfiles(createProfiles,
			component.StabilityLevelAlpha))
}

func createProfiles(_ context.Context, set receiver.Settings,
	cfg component.Config, next xconsumer.Profiles) (xreceiver.Profiles, error) {
	return newReceiver(set, cfg.(*Config), next)
}
