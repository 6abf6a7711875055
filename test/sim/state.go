package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/types"
)

// nodeStateFile, in a node Pod's scratch directory, records what the node's
// boot set going, so that a restarted runtime can bring it back (see resume)
// and a deleted Pod's Node can be found.
const nodeStateFile = "node.json"

// nodeState is what a booted node runs, as the files of a real node would
// tell its restarted kubelet.
type nodeState struct {
	// PodUID is the Pod that booted; a Pod recreated under the same name
	// boots anew.
	PodUID string `json:"podUID"`
	// Cluster is the workload cluster's name, in the Pod's namespace.
	Cluster string `json:"cluster"`
	// Node is the name the node registers under.
	Node string `json:"node"`
	// ControlPlane is true for a node of the control plane.
	ControlPlane bool `json:"controlPlane,omitempty"`
	// KubeadmConfig is kubeadm's --config, a path under the boot root.
	KubeadmConfig string `json:"kubeadmConfig"`
	// APIServer is set on the node that ran kubeadm init: it runs the
	// cluster's API server.
	APIServer *apiServerState `json:"apiServer,omitempty"`
	// Etcd is set on a control-plane node of a cluster with stacked etcd:
	// it runs a member, and an API server of its own on it.
	Etcd *etcdMemberState `json:"etcd,omitempty"`
}

// etcdMemberState is a node's stacked etcd member and the API server on it.
type etcdMemberState struct {
	// Name is the member's name, its Node's.
	Name string `json:"name"`
	// IP is where the member and the node's API server listen: the Pod's IP.
	IP string `json:"ip"`
	// APIServerPort is the node's API server's port, EndpointHost and
	// EndpointPort the control-plane endpoint that routes to it.
	APIServerPort int    `json:"apiServerPort"`
	EndpointHost  string `json:"endpointHost"`
	EndpointPort  int    `json:"endpointPort"`
}

// apiServerState is where a workload API server listens and keeps its data.
type apiServerState struct {
	Host       string `json:"host"`
	Port       int    `json:"port"`
	EtcdPrefix string `json:"etcdPrefix"`
}

// writeJSON writes v to file through a rename, so that a crash never leaves
// half a file.
func writeJSON(file string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// readJSON reads file into v; a missing file is (false, nil).
func readJSON(file string, v any) (bool, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("parsing %s: %w", file, err)
	}
	return true, nil
}

func writeNodeState(dir string, st *nodeState) error {
	if err := writeJSON(filepath.Join(dir, nodeStateFile), st); err != nil {
		return fmt.Errorf("recording the node's state: %w", err)
	}
	return nil
}

// readNodeState reads the state a boot in dir recorded; nil when none.
func readNodeState(dir string) (*nodeState, error) {
	st := &nodeState{}
	found, err := readJSON(filepath.Join(dir, nodeStateFile), st)
	if err != nil || !found {
		return nil, err
	}
	return st, nil
}

// clusterRecordsDir, under ScratchDir, holds a record per workload cluster
// whose data the runtime put in etcd. A namespace cannot start with a dot, so
// it never clashes with the Pods' directories.
const clusterRecordsDir = ".clusters"

// clusterRecord says which Cluster owns a workload cluster's etcd data, so
// that the data goes when the Cluster does, even if that happened while the
// runtime was down.
type clusterRecord struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// UID is the Cluster's at kubeadm init; empty when there was no Cluster
	// object (the runtime's own tests boot nodes without one).
	UID        string `json:"uid,omitempty"`
	EtcdPrefix string `json:"etcdPrefix"`
}

func (r *Runtime) clusterRecordFile(key types.NamespacedName) string {
	// A namespace has no dot, so the first dot splits the two.
	return filepath.Join(r.ScratchDir, clusterRecordsDir, key.Namespace+"."+key.Name+".json")
}

func (r *Runtime) readClusterRecord(key types.NamespacedName) (*clusterRecord, error) {
	rec := &clusterRecord{}
	found, err := readJSON(r.clusterRecordFile(key), rec)
	if err != nil || !found {
		return nil, err
	}
	return rec, nil
}

// clusterRecords lists the recorded clusters.
func (r *Runtime) clusterRecords() ([]types.NamespacedName, error) {
	files, err := filepath.Glob(filepath.Join(r.ScratchDir, clusterRecordsDir, "*.json"))
	if err != nil {
		return nil, err
	}
	var keys []types.NamespacedName
	for _, f := range files {
		rec := &clusterRecord{}
		if found, err := readJSON(f, rec); err != nil || !found {
			continue
		}
		keys = append(keys, types.NamespacedName{Namespace: rec.Namespace, Name: rec.Name})
	}
	return keys, nil
}
