// echo-client performs one exchange of each kind asked for against echo-server and prints the
// results as one JSON object; it exits 1 when any exchange failed.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"meshctl.io/test/apps/internal/echo"
)

// Result is one exchange: whether it worked and what came back.
type Result struct {
	OK       bool            `json:"ok"`
	Error    string          `json:"error,omitempty"`
	Pod      string          `json:"pod,omitempty"`
	Proto    string          `json:"proto,omitempty"`
	Reply    string          `json:"reply,omitempty"`
	Response json.RawMessage `json:"response,omitempty"`
}

func fail(err error) Result { return Result{Error: err.Error()} }

// httpExchange never consults HTTP_PROXY: the tests only ever talk to their own namespaces.
func httpExchange(ctx context.Context, url, message string, h2c bool) Result {
	protocols := new(http.Protocols)
	if h2c {
		protocols.SetUnencryptedHTTP2(true)
	} else {
		protocols.SetHTTP1(true)
	}
	client := &http.Client{Transport: &http.Transport{Protocols: protocols}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(message))
	if err != nil {
		return fail(err)
	}
	req.Header.Set("X-Echo-Message", message)
	resp, err := client.Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fail(err)
	}
	if resp.StatusCode != http.StatusOK {
		return fail(fmt.Errorf("status %d: %s", resp.StatusCode, body))
	}
	var answer struct {
		Pod, Proto, Body string
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return fail(fmt.Errorf("answer is not JSON: %v", err))
	}
	if answer.Body != message {
		return fail(fmt.Errorf("server saw body %q, sent %q", answer.Body, message))
	}
	return Result{OK: true, Pod: answer.Pod, Proto: resp.Proto, Response: body}
}

func grpcExchange(ctx context.Context, target, message string) Result {
	conn, err := grpc.NewClient("passthrough:///"+target, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithNoProxy(), grpc.WithDefaultCallOptions(grpc.ForceCodec(echo.RawCodec{})))
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	req := []byte(message)
	var reply []byte
	if err := conn.Invoke(ctx, echo.Method, &req, &reply); err != nil {
		return fail(err)
	}
	var answer struct{ Pod, Message string }
	if err := json.Unmarshal(reply, &answer); err != nil {
		return fail(fmt.Errorf("answer is not JSON: %v", err))
	}
	if answer.Message != message {
		return fail(fmt.Errorf("server saw %q, sent %q", answer.Message, message))
	}
	return Result{OK: true, Pod: answer.Pod, Proto: "grpc", Response: reply}
}

func wsExchange(ctx context.Context, url, message string) Result {
	dialer := &websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, resp, err := dialer.DialContext(ctx, url, nil)
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	if err := c.WriteMessage(websocket.TextMessage, []byte(message)); err != nil {
		return fail(err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = c.SetReadDeadline(deadline)
	}
	_, reply, err := c.ReadMessage()
	if err != nil {
		return fail(err)
	}
	pod := resp.Header.Get("X-Echo-Pod")
	if string(reply) != pod+": "+message {
		return fail(fmt.Errorf("unexpected reply %q", reply))
	}
	_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	return Result{OK: true, Pod: pod, Proto: "websocket", Reply: string(reply)}
}

func dial(ctx context.Context, target string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", target)
	if err == nil {
		if deadline, ok := ctx.Deadline(); ok {
			_ = c.SetDeadline(deadline)
		}
	}
	return c, err
}

// tcpExchange sends one line, half-closes, and expects exactly that line back.
func tcpExchange(ctx context.Context, target, message string) Result {
	c, err := dial(ctx, target)
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, message+"\n"); err != nil {
		return fail(err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	reply, err := io.ReadAll(c)
	if err != nil {
		return fail(err)
	}
	if string(reply) != message+"\n" {
		return fail(fmt.Errorf("echoed %q, sent %q", reply, message))
	}
	return Result{OK: true, Proto: "tcp", Reply: strings.TrimSuffix(string(reply), "\n")}
}

// bannerExchange sends nothing until the server has spoken, as a client of a server-speaks-first
// protocol (SMTP, MySQL) does.
func bannerExchange(ctx context.Context, target, message string) Result {
	c, err := dial(ctx, target)
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	banner, err := r.ReadString('\n')
	if err != nil {
		return fail(fmt.Errorf("no banner: %v", err))
	}
	banner = strings.TrimSuffix(banner, "\n")
	pod, ok := strings.CutPrefix(banner, "banner from ")
	if !ok {
		return fail(fmt.Errorf("unexpected banner %q", banner))
	}
	if _, err := io.WriteString(c, message+"\n"); err != nil {
		return fail(err)
	}
	line, err := r.ReadString('\n')
	if err != nil || line != message+"\n" {
		return fail(fmt.Errorf("echoed %q (%v), sent %q", line, err, message))
	}
	return Result{OK: true, Pod: pod, Proto: "banner", Reply: banner}
}

func main() {
	http1 := flag.String("http1", "", "URL for an HTTP/1.1 POST")
	h2c := flag.String("h2c", "", "URL for an HTTP/2 (prior knowledge, cleartext) POST")
	grpcTarget := flag.String("grpc", "", "host:port for a gRPC "+echo.Method+" call")
	ws := flag.String("ws", "", "ws:// URL for a WebSocket message")
	tcp := flag.String("tcp", "", "host:port for a raw TCP echo")
	banner := flag.String("banner", "", "host:port of a server-speaks-first port")
	message := flag.String("message", "echo-client says hello", "payload of every exchange")
	timeout := flag.Duration("timeout", 5*time.Second, "limit for each exchange")
	flag.Parse()

	type exchange struct {
		name, target string
		run          func(context.Context, string, string) Result
	}
	exchanges := []exchange{
		{"http1", *http1, func(ctx context.Context, t, m string) Result { return httpExchange(ctx, t, m, false) }},
		{"h2c", *h2c, func(ctx context.Context, t, m string) Result { return httpExchange(ctx, t, m, true) }},
		{"grpc", *grpcTarget, grpcExchange},
		{"ws", *ws, wsExchange},
		{"tcp", *tcp, tcpExchange},
		{"banner", *banner, bannerExchange},
	}
	results := map[string]Result{}
	failed := false
	for _, e := range exchanges {
		if e.target == "" {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		r := e.run(ctx, e.target, *message)
		cancel()
		results[e.name] = r
		failed = failed || !r.OK
	}
	if len(results) == 0 {
		fmt.Fprintln(os.Stderr, "echo-client: give at least one of --http1 --h2c --grpc --ws --tcp --banner")
		os.Exit(2)
	}
	out, _ := json.MarshalIndent(results, "", "  ")
	fmt.Println(string(out))
	if failed {
		os.Exit(1)
	}
}
