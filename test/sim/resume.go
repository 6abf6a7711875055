package sim

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// resumeRetry is how soon a booted node whose cluster cannot be reached yet
// is looked at again.
const resumeRetry = 5 * time.Second

// resume brings back what a booted node runs when this process did not boot
// it, as a restarted runtime finds the nodes an earlier one booted: the
// processes died with the earlier runtime, the files the boot wrote did not.
// The node that ran kubeadm init gets its API server back at the same
// address, with the same CA, keys and etcd data, and its components; every
// node registers again and heartbeats, as a restarted kubelet does. A node
// this process runs already is left alone.
func (r *kubeletReconciler) resume(ctx context.Context, pod *corev1.Pod) (ctrl.Result, error) {
	key := client.ObjectKeyFromObject(pod)
	if e := r.rt.nodes.get(key.String()); e != nil && e.podUID == string(pod.UID) {
		return ctrl.Result{}, nil
	}
	log := ctrl.LoggerFrom(ctx)
	dir := r.scratch(key)
	st, err := readNodeState(dir)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("reading the state of node Pod %s: %w", key, err)
	}
	if st == nil || st.PodUID != string(pod.UID) {
		// Booted without kubeadm (nothing to run), or by a runtime that
		// recorded nothing: there is nothing to bring back.
		return ctrl.Result{}, nil
	}
	root := filepath.Join(dir, "root")
	cfg, err := readKubeadmConfig(root, st.KubeadmConfig)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("resuming node Pod %s: %w", key, err)
	}
	cluster := types.NamespacedName{Namespace: pod.Namespace, Name: st.Cluster}

	var wcfg *rest.Config
	if st.Etcd != nil {
		var res ctrl.Result
		if wcfg, res, err = r.resumeStacked(ctx, pod, dir, root, cfg, st); err != nil || !res.IsZero() {
			return res, err
		}
	} else if a := st.APIServer; a != nil {
		s := r.rt.servers.get(key.String())
		if s == nil || s.podUID != string(pod.UID) {
			log.Info("Resuming the workload API server of a booted node", "endpoint", fmt.Sprintf("%s:%d", a.Host, a.Port), "etcdPrefix", a.EtcdPrefix)
			s, err = r.rt.startAPIServer(string(pod.UID), cluster, dir, root, cfg, apiServerEtcd{servers: r.rt.EtcdURL, prefix: a.EtcdPrefix}, a.Host, a.Port, "")
			if err != nil {
				return ctrl.Result{}, fmt.Errorf("resuming the API server of node Pod %s: %w", key, err)
			}
			s.node, s.nodeIP = st.Node, pod.Status.PodIP
			r.rt.servers.put(key.String(), s)
			return ctrl.Result{RequeueAfter: apiServerPoll}, nil
		}
		if ended, err := s.exited(); ended {
			// Started again on the retry, as the kubelet restarts a static Pod.
			r.rt.servers.remove(key.String())
			return ctrl.Result{}, fmt.Errorf("the resumed kube-apiserver of node Pod %s exited (%w): %s", key, err, tail(s.log, 1500))
		}
		if !s.ready(ctx) {
			if time.Since(s.started) > apiServerStartTimeout {
				r.rt.servers.remove(key.String())
				return ctrl.Result{}, fmt.Errorf("the resumed kube-apiserver of node Pod %s is not ready after %s: %s", key, apiServerStartTimeout, tail(s.log, 1500))
			}
			return ctrl.Result{RequeueAfter: apiServerPoll}, nil
		}
		if err := r.rt.startComponents(ctx, s); err != nil {
			return ctrl.Result{}, err
		}
		wcfg = s.restConfig()
	} else {
		if wcfg, err = r.rt.workloadConfig(ctx, r.client, cluster); err != nil {
			return ctrl.Result{}, err
		}
		if wcfg == nil {
			log.Info("Waiting for the kubeconfig of the cluster to resume a booted node", "cluster", cluster)
			return ctrl.Result{RequeueAfter: resumeRetry}, nil
		}
	}
	if err := r.register(ctx, pod, cfg, st.ControlPlane, wcfg); err != nil {
		// Its cluster's API server may be coming back itself.
		log.Info("Cannot register a resumed node yet", "error", err.Error())
		return ctrl.Result{RequeueAfter: resumeRetry}, nil
	}
	log.Info("Resumed a booted node", "node", st.Node)
	return ctrl.Result{}, nil
}

// resumeStacked brings back a node of a stacked control plane: its etcd
// member on the data it kept, then its API server on it, behind the
// control-plane endpoint once it serves. It returns the node's API server's
// admin config once it serves.
func (r *kubeletReconciler) resumeStacked(ctx context.Context, pod *corev1.Pod, dir, root string, cfg *kubeadmConfig, st *nodeState) (*rest.Config, ctrl.Result, error) {
	key := client.ObjectKeyFromObject(pod).String()
	cluster := types.NamespacedName{Namespace: pod.Namespace, Name: st.Cluster}
	e := st.Etcd
	mcfg := memberConfig(dir, e.Name, e.IP)
	backend := apiServerEtcd{
		servers: mcfg.ClientURL(), caFile: filepath.Join(mcfg.CertDir, "ca.crt"),
		certFile: filepath.Join(mcfg.CertDir, etcdClientFile+".crt"), keyFile: filepath.Join(mcfg.CertDir, etcdClientFile+".key"),
	}
	if m := r.rt.etcd.get(key); m == nil || m.podUID != string(pod.UID) {
		// The member's data names its cluster: the flags that found or
		// join one are not read again.
		m = &etcdMember{podKey: key, podUID: string(pod.UID), cluster: cluster, cfg: mcfg, binary: r.rt.binary("etcd"), log: filepath.Join(dir, "etcd.log")}
		m.cfg.InitialCluster = []string{e.Name + "=" + mcfg.PeerURL()}
		m.cfg.Existing = true
		ctrl.LoggerFrom(ctx).Info("Resuming the etcd member of a booted node", "member", e.Name)
		if err := m.start(); err != nil {
			return nil, ctrl.Result{}, fmt.Errorf("resuming the etcd member of node Pod %s: %w", key, err)
		}
		r.rt.etcd.put(m)
	}
	s := r.rt.servers.get(key)
	if s == nil || s.podUID != string(pod.UID) {
		var err error
		s, err = r.rt.startAPIServer(string(pod.UID), cluster, dir, root, cfg, backend, e.IP, e.APIServerPort, e.EndpointHost)
		if err != nil {
			return nil, ctrl.Result{}, fmt.Errorf("resuming the API server of node Pod %s: %w", key, err)
		}
		s.join = !cfg.LocalEtcd // only init's config has the ClusterConfiguration
		s.endpoint = net.JoinHostPort(e.EndpointHost, strconv.Itoa(e.EndpointPort))
		s.node, s.nodeIP = st.Node, e.IP
		r.rt.servers.put(key, s)
		return nil, ctrl.Result{RequeueAfter: apiServerPoll}, nil
	}
	if ended, err := s.exited(); ended {
		r.rt.servers.remove(key)
		return nil, ctrl.Result{}, fmt.Errorf("the resumed kube-apiserver of node Pod %s exited (%w): %s", key, err, tail(s.log, 1500))
	}
	if !s.ready(ctx) {
		return nil, ctrl.Result{RequeueAfter: apiServerPoll}, nil
	}
	if err := r.rt.serveEndpoint(s); err != nil {
		return nil, ctrl.Result{}, err
	}
	// Every node of a stacked control plane runs its components.
	if err := r.rt.startComponents(ctx, s); err != nil {
		return nil, ctrl.Result{}, err
	}
	return s.kubeletConfig(), ctrl.Result{}, nil
}
