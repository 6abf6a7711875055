// Package version reports the podcluster build.
package version

import "runtime/debug"

// Version is set at link time (-X github.com/podcluster/podcluster/cmd/podcluster/client/version.Version=v0.1.0);
// otherwise it comes from the module's build information.
var Version = ""

// Get returns the podcluster version.
func Get() string {
	if Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "v0.0.0-dev"
}
