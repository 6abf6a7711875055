// Command webapp is the workload TestManagementNode builds into an image of
// its own, loads into the real worker nodes and runs as a Deployment.
//
//	webapp serve          answers GET / on :8080 with "webapp <pod> on <node>"
//	webapp get URL...     GETs each URL (retrying for up to a minute, while
//	                      DNS and the Service's endpoints settle), prints each
//	                      answer, and exits 1 if one never answered
//
// The Pod's and the node's names come from POD_NAME and NODE_NAME.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: webapp serve | webapp get URL...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, "webapp %s on %s\n", os.Getenv("POD_NAME"), os.Getenv("NODE_NAME"))
		})
		srv := &http.Server{Addr: ":8080", ReadHeaderTimeout: 5 * time.Second}
		fmt.Fprintln(os.Stderr, srv.ListenAndServe())
		os.Exit(1)
	case "get":
		failed := false
		for _, url := range os.Args[2:] {
			body, err := get(url)
			if err != nil {
				fmt.Printf("%s: %v\n", url, err)
				failed = true
				continue
			}
			fmt.Printf("%s: %s", url, body)
		}
		if failed {
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "webapp: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}

// get fetches url, retrying every second for up to a minute.
func get(url string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := c.Get(url)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return string(body), nil
			}
			err = fmt.Errorf("status %d, %w", resp.StatusCode, rerr)
		}
		if time.Now().After(deadline) {
			return "", err
		}
		time.Sleep(time.Second)
	}
}
