// destination-fanout opens many watches on one target over a few mutual-TLS connections to
// `meshctl destination`, waits until every watch has its first answer, then applies one change
// to the registry (writes a file) and measures when each watch sees the new state.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

type answer struct {
	Watch     uint64            `json:"watch"`
	Exists    bool              `json:"exists"`
	Error     string            `json:"error"`
	Endpoints []json.RawMessage `json:"endpoints"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8086", "destination address")
	certFile := flag.String("cert", "cert.pem", "client certificate chain (PEM)")
	keyFile := flag.String("key", "key.pem", "client key (PEM)")
	caFile := flag.String("ca", "ca.crt", "trust anchors (PEM)")
	serverName := flag.String("server-name", "meshctl-destination.meshctl.serviceaccount.identity.meshctl.cluster.local", "identity the destination proves")
	target := flag.String("target", "web.default.svc.cluster.local:80", "target to watch")
	conns := flag.Int("conns", 100, "connections")
	watches := flag.Int("watches", 10000, "watches in all, spread over the connections")
	changeFile := flag.String("change-file", "", "registry file to write once every watch has its first answer")
	changeFrom := flag.String("change-from", "", "file whose content is written to -change-file")
	timeout := flag.Duration("timeout", 60*time.Second, "give up after")
	flag.Parse()

	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	check(err)
	pem, err := os.ReadFile(*caFile)
	check(err)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fail("no certificates in %s", *caFile)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: *serverName, MinVersion: tls.VersionTLS13}

	var firstSeen, updated atomic.Int64
	var changeAt atomic.Int64 // unix nanos of the change; 0 before it
	initial := make(chan int, *watches)
	latencies := make([]time.Duration, 0, *watches)
	var mu sync.Mutex
	allUpdated := make(chan struct{})
	var closeOnce sync.Once

	start := time.Now()
	var dial sync.WaitGroup
	per := *watches / *conns
	for c := 0; c < *conns; c++ {
		n := per
		if c == *conns-1 {
			n = *watches - per*(*conns-1)
		}
		dial.Add(1)
		go func(n int) {
			conn, err := tls.Dial("tcp", *addr, cfg)
			check(err)
			w := bufio.NewWriterSize(conn, 1<<16)
			for id := 1; id <= n; id++ {
				fmt.Fprintf(w, "{\"watch\":%d,\"target\":%q}\n", id, *target)
			}
			check(w.Flush())
			dial.Done()
			r := bufio.NewReaderSize(conn, 1<<16)
			counts := make(map[uint64]int, n)
			for {
				line, err := r.ReadBytes('\n')
				if err != nil {
					return
				}
				if len(line) <= 1 {
					continue
				}
				var a answer
				check(json.Unmarshal(line, &a))
				if a.Error != "" {
					fail("watch %d refused: %s", a.Watch, a.Error)
				}
				prev, seen := counts[a.Watch]
				counts[a.Watch] = len(a.Endpoints)
				if !seen {
					firstSeen.Add(1)
					initial <- len(a.Endpoints)
					continue
				}
				if at := changeAt.Load(); at != 0 && prev != len(a.Endpoints) {
					d := time.Since(time.Unix(0, at))
					mu.Lock()
					latencies = append(latencies, d)
					mu.Unlock()
					if updated.Add(1) == int64(*watches) {
						closeOnce.Do(func() { close(allUpdated) })
					}
				}
			}
		}(n)
	}
	dial.Wait()
	deadline := time.After(*timeout)
	endpoints := -1
	for i := 0; i < *watches; i++ {
		select {
		case e := <-initial:
			endpoints = e
		case <-deadline:
			fail("only %d of %d watches answered", firstSeen.Load(), *watches)
		}
	}
	ready := time.Since(start)
	fmt.Printf("watches: %d over %d connections, all answered %.0f ms after the first dial (%d endpoints each)\n",
		*watches, *conns, ms(ready), endpoints)
	if *changeFile == "" {
		return
	}
	content, err := os.ReadFile(*changeFrom)
	check(err)
	tmp := *changeFile + ".tmp"
	check(os.WriteFile(tmp, content, 0o644))
	changeAt.Store(time.Now().UnixNano())
	check(os.Rename(tmp, *changeFile))
	select {
	case <-allUpdated:
	case <-deadline:
		fail("only %d of %d watches saw the change", updated.Load(), *watches)
	}
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	q := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1))] }
	fmt.Printf("change -> watcher (includes the registry poll): first %.1f ms, p50 %.1f ms, p99 %.1f ms, last %.1f ms\n",
		ms(latencies[0]), ms(q(0.5)), ms(q(0.99)), ms(latencies[len(latencies)-1]))
	fmt.Printf("fan-out spread (first watcher to last): %.1f ms for %d watches\n",
		ms(latencies[len(latencies)-1]-latencies[0]), len(latencies))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "destination-fanout: "+format+"\n", args...)
	os.Exit(1)
}
