// SPDX-License-Identifier: Apache-2.0
// An empty stand-in for contrib's pkg/semconvtest, which the Go module
// proxy does not serve at any version: only k8sattributesprocessor's own
// tests import it, yet `go mod tidy` (which ocb runs on the distribution it
// generates from ../../builder-config.yaml) resolves every import of a
// dependency's tests. Nothing in a collector binary uses it.
package semconvtest
