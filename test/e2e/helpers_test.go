package e2e

import (
	"net"
	osexec "os/exec"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func exec(name string, args ...string) *osexec.Cmd { return osexec.Command(name, args...) }

// meta counts the items of a list.
func meta(list client.ObjectList) int {
	items, err := apimeta.ExtractList(list)
	if err != nil {
		return -1
	}
	return len(items)
}

// dial reports whether something listens at addr.
func dial(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}
