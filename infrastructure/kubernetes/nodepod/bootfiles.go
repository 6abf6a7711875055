package nodepod

import (
	_ "embed" // the boot files are shell scripts and unit files, kept as such
	"maps"
)

// Keys of the boot Secret.
const (
	// BootstrapScriptKey holds the converted cloud-config. Another package makes
	// it; the controller stores it next to [BootFiles].
	BootstrapScriptKey = "bootstrap.sh"
	// EntrypointKey holds the node container's first process.
	EntrypointKey = "entrypoint.sh"
	// SeedVolumesKey holds the script of the seed-volumes init container.
	SeedVolumesKey = "seed-volumes.sh"
	// BootstrapStoppedKey holds the script that reports a bootstrap that failed
	// without saying why.
	BootstrapStoppedKey = "bootstrap-stopped.sh"
	// BootstrapPathUnitKey starts the bootstrap service once containerd is up.
	BootstrapPathUnitKey = "podcluster-bootstrap.path"
	// BootstrapServiceUnitKey runs bootstrap.sh.
	BootstrapServiceUnitKey = "podcluster-bootstrap.service"
	// SystemConfKey is a drop-in for systemd's system.conf.
	SystemConfKey = "podcluster-system.conf"
)

var (
	//go:embed files/entrypoint.sh
	entrypointScript string
	//go:embed files/seed-volumes.sh
	seedVolumesScript string
	//go:embed files/bootstrap-stopped.sh
	bootstrapStoppedScript string
	//go:embed files/podcluster-bootstrap.path
	bootstrapPathUnit string
	//go:embed files/podcluster-bootstrap.service
	bootstrapServiceUnit string
	//go:embed files/podcluster-system.conf
	systemConf string
)

var bootFiles = map[string]string{
	EntrypointKey:           entrypointScript,
	SeedVolumesKey:          seedVolumesScript,
	BootstrapStoppedKey:     bootstrapStoppedScript,
	BootstrapPathUnitKey:    bootstrapPathUnit,
	BootstrapServiceUnitKey: bootstrapServiceUnit,
	SystemConfKey:           systemConf,
}

// BootFiles returns the files of the node's boot path, keyed by their name in the
// boot Secret. The controller stores them with bootstrap.sh ([BootstrapScriptKey])
// in the Secret named [BootstrapSecretName]. The map is a copy the caller may
// change.
func BootFiles() map[string]string {
	return maps.Clone(bootFiles)
}
