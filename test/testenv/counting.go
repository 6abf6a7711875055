package testenv

import (
	"net/http"
	"strings"
	"sync"

	"k8s.io/client-go/rest"
)

// RequestCounter counts the requests that go through a rest.Config, by verb.
type RequestCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

// Counting returns a copy of cfg whose requests are counted.
func Counting(cfg *rest.Config) (*rest.Config, *RequestCounter) {
	rc := &RequestCounter{counts: map[string]int{}}
	out := rest.CopyConfig(cfg)
	out.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			verb := req.Method
			if req.URL.Query().Get("watch") == "true" {
				verb = "WATCH"
			}
			resp, err := rt.RoundTrip(req)
			rc.mu.Lock()
			rc.counts[verb]++
			if verb != "GET" && verb != "WATCH" {
				rc.counts[verb+" "+resourceOf(req.URL.Path)]++
			}
			if resp != nil && resp.StatusCode == http.StatusConflict {
				rc.counts["CONFLICT"]++
			}
			rc.mu.Unlock()
			return resp, err
		})
	})
	return out, rc
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Get returns the count for a verb (GET, POST, PUT, PATCH, DELETE, WATCH) or CONFLICT.
func (rc *RequestCounter) Get(verb string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.counts[strings.ToUpper(verb)]
}

// Writes returns the number of POST, PUT, PATCH and DELETE requests.
func (rc *RequestCounter) Writes() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.counts["POST"] + rc.counts["PUT"] + rc.counts["PATCH"] + rc.counts["DELETE"]
}

// Reset sets every count to zero.
func (rc *RequestCounter) Reset() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.counts = map[string]int{}
}

// resourceOf turns /apis/g/v/namespaces/ns/machines/name/status into "machines/status".
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i, p := range parts {
		if p == "namespaces" && i+2 < len(parts) {
			rest := parts[i+2:]
			if len(rest) >= 3 {
				return rest[0] + "/" + rest[2]
			}
			return rest[0]
		}
	}
	return path
}

// Breakdown returns every count, by verb and by "VERB resource".
func (rc *RequestCounter) Breakdown() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]int, len(rc.counts))
	for k, v := range rc.counts {
		out[k] = v
	}
	return out
}
