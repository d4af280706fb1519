// echo-server is the application of a test pod: it answers HTTP/1.1 and h2c on one port (with a
// WebSocket echo at /ws), a gRPC echo method, a raw TCP echo, and a server-speaks-first banner,
// each answer naming the pod so a test can tell which endpoint served it.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc"

	"meshctl.io/test/apps/internal/echo"
)

type server struct{ pod string }

// HTTPAnswer is what every HTTP request gets back, as JSON.
type HTTPAnswer struct {
	Pod     string              `json:"pod"`
	Proto   string              `json:"proto"`
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Host    string              `json:"host"`
	Remote  string              `json:"remote"`
	Headers map[string][]string `json:"headers"`
	Body    string              `json:"body"`
}

// A `delay` query parameter (a Go duration, at most a minute) holds the answer back, so a test
// can keep a request in flight.
func (s *server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if d, err := time.ParseDuration(r.URL.Query().Get("delay")); err == nil && d > 0 && d <= time.Minute {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Echo-Pod", s.pod)
	_ = json.NewEncoder(w).Encode(HTTPAnswer{s.pod, r.Proto, r.Method, r.URL.RequestURI(), r.Host, r.RemoteAddr, r.Header, string(body)})
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, http.Header{"X-Echo-Pod": {s.pod}})
	if err != nil {
		return
	}
	defer c.Close()
	for {
		kind, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		reply := []byte(s.pod + ": " + string(msg))
		if err := c.WriteMessage(kind, reply); err != nil {
			return
		}
	}
}

func (s *server) grpcEcho(method string, md map[string][]string, req []byte) ([]byte, error) {
	return json.Marshal(map[string]any{"pod": s.pod, "method": method, "metadata": md, "message": string(req)})
}

func listen(addr string, port int) net.Listener {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, fmt.Sprint(port)))
	if err != nil {
		log.Fatalf("echo-server: %v", err)
	}
	return l
}

func serveConns(l net.Listener, handle func(net.Conn)) {
	for {
		c, err := l.Accept()
		if err != nil {
			log.Fatalf("echo-server: accept: %v", err)
		}
		go func() {
			defer c.Close()
			handle(c)
		}()
	}
}

func main() {
	defaultPod := os.Getenv("POD_NAME")
	if defaultPod == "" {
		defaultPod, _ = os.Hostname()
	}
	pod := flag.String("pod", defaultPod, "name reported in every answer")
	addr := flag.String("addr", "0.0.0.0", "address to listen on")
	httpPort := flag.Int("http-port", 8080, "HTTP/1.1 and h2c (prior knowledge); WebSocket echo at /ws; 0 disables")
	grpcPort := flag.Int("grpc-port", 8090, "gRPC "+echo.Method+"; 0 disables")
	tcpPort := flag.Int("tcp-port", 8100, "raw TCP echo; 0 disables")
	bannerPort := flag.Int("banner-port", 8110, "sends a banner line on connect, then echoes; 0 disables")
	flag.Parse()
	s := &server{pod: *pod}
	var ready []string

	if *httpPort != 0 {
		mux := http.NewServeMux()
		mux.HandleFunc("/ws", s.serveWebSocket)
		mux.HandleFunc("/", s.serveHTTP)
		protocols := new(http.Protocols)
		protocols.SetHTTP1(true)
		protocols.SetUnencryptedHTTP2(true)
		srv := &http.Server{Handler: mux, Protocols: protocols}
		l := listen(*addr, *httpPort)
		go func() { log.Fatal(srv.Serve(l)) }()
		ready = append(ready, "http="+l.Addr().String())
	}
	if *grpcPort != 0 {
		g := grpc.NewServer(grpc.ForceServerCodec(echo.RawCodec{}))
		desc, impl := echo.ServiceDesc(s.grpcEcho)
		g.RegisterService(desc, impl)
		l := listen(*addr, *grpcPort)
		go func() { log.Fatal(g.Serve(l)) }()
		ready = append(ready, "grpc="+l.Addr().String())
	}
	if *tcpPort != 0 {
		l := listen(*addr, *tcpPort)
		go serveConns(l, func(c net.Conn) { _, _ = io.Copy(c, c) })
		ready = append(ready, "tcp="+l.Addr().String())
	}
	if *bannerPort != 0 {
		l := listen(*addr, *bannerPort)
		go serveConns(l, func(c net.Conn) {
			if _, err := fmt.Fprintf(c, "banner from %s\n", s.pod); err == nil {
				_, _ = io.Copy(c, c)
			}
		})
		ready = append(ready, "banner="+l.Addr().String())
	}
	// Tests wait for this line before sending traffic.
	log.Printf("echo-server %s listening %s", s.pod, strings.Join(ready, " "))
	select {}
}
