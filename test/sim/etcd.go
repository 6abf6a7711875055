package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// etcdTimeout bounds one request to the workload clusters' etcd.
const etcdTimeout = 30 * time.Second

// The workload clusters' data is removed with etcd's own v3 API, through the
// JSON gateway every etcd serves next to gRPC (/v3/kv/...), rather than with
// go.etcd.io/etcd/client/v3: that module is in the module graph only through
// the Kubernetes libraries, and importing it would take a new direct
// requirement. The kube-apiserver cannot do it: it knows its resources, not
// raw key ranges.

// etcdKV is the request of /v3/kv/range and /v3/kv/deleterange. Keys are
// bytes, which the gateway's JSON carries base64-encoded.
type etcdKV struct {
	Key       []byte `json:"key"`
	RangeEnd  []byte `json:"range_end"`
	CountOnly bool   `json:"count_only,omitempty"`
}

// prefixEnd is the end of the key range of every key starting with prefix.
func prefixEnd(prefix string) []byte {
	end := []byte(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	// A prefix of only 0xff bytes: to the end of the keyspace.
	return []byte{0}
}

// etcdCall posts req to the gateway endpoint path of the first of the
// comma-separated etcd URLs, and decodes the answer into resp.
func etcdCall(ctx context.Context, etcdURL, path string, req, resp any) error {
	base, _, _ := strings.Cut(etcdURL, ",")
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, etcdTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hresp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return fmt.Errorf("etcd %s: %w", path, err)
	}
	defer func() { _ = hresp.Body.Close() }()
	out, err := io.ReadAll(hresp.Body)
	if err != nil {
		return fmt.Errorf("etcd %s: %w", path, err)
	}
	if hresp.StatusCode != http.StatusOK {
		return fmt.Errorf("etcd %s: %s: %s", path, hresp.Status, bytes.TrimSpace(out))
	}
	if err := json.Unmarshal(out, resp); err != nil {
		return fmt.Errorf("etcd %s: decoding %q: %w", path, out, err)
	}
	return nil
}

// deleteEtcdPrefix deletes every key under prefix and returns how many went.
func deleteEtcdPrefix(ctx context.Context, etcdURL, prefix string) (int64, error) {
	var resp struct {
		// int64 fields come as strings in the gateway's JSON.
		Deleted string `json:"deleted"`
	}
	if err := etcdCall(ctx, etcdURL, "/v3/kv/deleterange", etcdKV{Key: []byte(prefix), RangeEnd: prefixEnd(prefix)}, &resp); err != nil {
		return 0, err
	}
	return parseCount(resp.Deleted), nil
}

// countEtcdPrefix counts the keys under prefix.
func countEtcdPrefix(ctx context.Context, etcdURL, prefix string) (int64, error) {
	var resp struct {
		Count string `json:"count"`
	}
	if err := etcdCall(ctx, etcdURL, "/v3/kv/range", etcdKV{Key: []byte(prefix), RangeEnd: prefixEnd(prefix), CountOnly: true}, &resp); err != nil {
		return 0, err
	}
	return parseCount(resp.Count), nil
}

// parseCount reads a gateway count; zero values are left out of its JSON.
func parseCount(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
