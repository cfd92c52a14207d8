// Generates golden CNI result JSON with the reference Go library (libcni types), for Cni.Spec.Tests.
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/types/create"
	_ "github.com/containernetworking/cni/pkg/types/020"
	_ "github.com/containernetworking/cni/pkg/types/040"
	_ "github.com/containernetworking/cni/pkg/types/100"
)

const rich = `{
  "cniVersion": "1.0.0",
  "interfaces": [
    {"name": "eth0", "mac": "0a:58:0a:01:02:03", "sandbox": "/var/run/netns/test"},
    {"name": "veth1234"}
  ],
  "ips": [
    {"interface": 0, "address": "10.1.2.3/24", "gateway": "10.1.2.1"},
    {"interface": 0, "address": "10.1.3.4/16"},
    {"interface": 1, "address": "2001:db8::5/64", "gateway": "2001:db8::1"},
    {"address": "fd00::7/120"}
  ],
  "routes": [
    {"dst": "0.0.0.0/0", "gw": "10.1.2.1"},
    {"dst": "::/0", "gw": "2001:db8::1"},
    {"dst": "192.168.0.0/16"}
  ],
  "dns": {"nameservers": ["10.1.2.1", "2001:db8::53"], "domain": "example.com", "search": ["example.com", "svc.local"], "options": ["ndots:5"]}
}`

const v4only = `{"cniVersion": "1.0.0", "ips": [{"address": "192.0.2.10/24", "gateway": "192.0.2.1"}], "routes": [{"dst": "0.0.0.0/0"}, {"dst": "2001:db8::/32", "gw": "2001:db8::1"}], "dns": {}}`

const noip = `{"cniVersion": "1.0.0", "interfaces": [{"name": "eth0"}], "dns": {}}`

var versions = []string{"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func print(r types.Result) []byte {
	var b bytes.Buffer
	must(r.PrintTo(&b))
	return b.Bytes()
}

func gen(out, name, src string) {
	r, err := create.Create("1.0.0", []byte(src))
	must(err)
	for _, v := range versions {
		conv, err := r.GetAsVersion(v)
		if err != nil {
			must(os.WriteFile(filepath.Join(out, fmt.Sprintf("%s-%s.error.txt", name, v)), []byte(err.Error()), 0644))
			continue
		}
		data := print(conv)
		must(os.WriteFile(filepath.Join(out, fmt.Sprintf("%s-%s.json", name, v)), data, 0644))
		// Up again: parse the wire form in its own version and print it as 1.0.0.
		back, err := create.Create(v, data)
		must(err)
		up, err := back.GetAsVersion("1.0.0")
		must(err)
		must(os.WriteFile(filepath.Join(out, fmt.Sprintf("%s-%s-to-1.0.0.json", name, v)), print(up), 0644))
	}
}

func main() {
	out := os.Args[1]
	gen(out, "result", rich)
	gen(out, "v4only", v4only)
	gen(out, "noip", noip)
	e := types.NewError(7, "invalid network configuration at $.ipam.addresses[0].address: invalid CIDR address \"10.1.2.300/24\"", "some details")
	data, _ := jsonIndent(e)
	must(os.WriteFile(filepath.Join(out, "error-with-details.json"), data, 0644))
	e2 := types.NewError(4, "required env variables [CNI_NETNS,CNI_IFNAME] missing", "")
	data, _ = jsonIndent(e2)
	must(os.WriteFile(filepath.Join(out, "error.json"), data, 0644))
}
