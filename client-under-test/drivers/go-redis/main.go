// schsim driver for go-redis (github.com/redis/go-redis/v9, package maintnotifications).
//
// Speaks the JSON-lines driver protocol (docs/driver-protocol.md) on stdin/stdout; logs to
// stderr only. Commands run concurrently, one goroutine each; the stdin reader never blocks on
// them. Every output line goes through one mutex-guarded writer and is written with one write(2).
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/redis/go-redis/v9/push"
	"golang.org/x/sys/unix"
)

const driverProtocol = 1

// monoNs is CLOCK_MONOTONIC in nanoseconds, the clock the simulator stamps its timeline with.
func monoNs() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic(err)
	}
	return ts.Sec*1_000_000_000 + ts.Nsec
}

// ---------------------------------------------------------------------------------------------
// Output: one writer, one line per write, flushed (os.Stdout is unbuffered).

var outMu sync.Mutex

func emit(msg map[string]any) {
	b, err := json.Marshal(msg)
	if err != nil {
		log.Printf("driver: cannot encode %v: %v", msg, err)
		return
	}
	b = append(b, '\n')
	outMu.Lock()
	defer outMu.Unlock()
	if _, err := os.Stdout.Write(b); err != nil {
		log.Printf("driver: stdout write failed: %v", err)
	}
}

// ---------------------------------------------------------------------------------------------
// Input messages.

type endpoint struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

type settings struct {
	Protocol             *int    `json:"protocol"`
	Mode                 *string `json:"mode"`
	EndpointType         *string `json:"endpoint_type"`
	TimeoutMs            *int64  `json:"timeout_ms"`
	RelaxedTimeoutMs     *int64  `json:"relaxed_timeout_ms"`
	PostHandoffRelaxedMs *int64  `json:"post_handoff_relaxed_ms"`
	HandoffTimeoutMs     *int64  `json:"handoff_timeout_ms"`
	ConnectTimeoutMs     *int64  `json:"connect_timeout_ms"`
	PoolSize             *int    `json:"pool_size"`
	Username             *string `json:"username"`
	Password             *string `json:"password"`
	RetryIdempotent      *bool   `json:"retry_idempotent"`
	Cluster              *bool   `json:"cluster"`
}

// configure.tls (docs/driver-protocol.md): the run's CA, the name to verify, a client
// certificate for mutual TLS.
type tlsSettings struct {
	CAFile     string `json:"ca_file"`
	ServerName string `json:"server_name"`
	CertFile   string `json:"cert_file"`
	KeyFile    string `json:"key_file"`
}

type inMsg struct {
	Type       string                     `json:"type"`
	Case       string                     `json:"case"`
	Endpoint   *endpoint                  `json:"endpoint"`
	TLS        *tlsSettings               `json:"tls"`
	Settings   *settings                  `json:"settings"`
	RawSet     map[string]json.RawMessage `json:"-"`
	ID         json.RawMessage            `json:"id"`
	Args       []json.RawMessage          `json:"args"`
	IntendedNs int64                      `json:"intended_ns"`
	// block (docs/driver-protocol.md): the blocking consumer's command, keys and timeout.
	Command string   `json:"command"`
	Keys    []string `json:"keys"`
	Timeout float64  `json:"timeout"`
	// subscribe (docs/driver-protocol.md): channel, pattern or shard, and the names.
	Kind     string   `json:"kind"`
	Channels []string `json:"channels"`
	// transaction (docs/driver-protocol.md): keys to WATCH first, the commands between MULTI
	// and EXEC.
	Watch    []string            `json:"watch"`
	Commands [][]json.RawMessage `json:"commands"`
}

// ---------------------------------------------------------------------------------------------
// Driver state.

type driver struct {
	// *redis.Client, or *redis.ClusterClient when settings.cluster is true.
	client      redis.UniversalClient
	opt         *redis.Options // the standalone client's options (nil for a cluster)
	connsOpened atomic.Int64
	inflight    sync.WaitGroup
	commands    atomic.Int64
	stopping    atomic.Bool
	subscriber  *redis.Client // the Pub/Sub subscriber's client (subscribe), nil without one
	pubsub      *redis.PubSub
	// kind shard: one ClusterClient.SSubscribe PubSub per channel (each pinned to the node of its
	// channel's slot; one SSUBSCRIBE for channels of several slots is refused with CROSSSLOT).
	shardSubs []*redis.PubSub
}

func libVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/redis/go-redis/v9" {
				return strings.TrimPrefix(d.Version, "v")
			}
		}
	}
	return strings.TrimPrefix(redis.Version(), "v")
}

func (d *driver) hello(m *inMsg) {
	log.Printf("driver: hello, case %q", m.Case)
	emit(map[string]any{
		"type":     "hello",
		"protocol": driverProtocol,
		"client":   "go-redis",
		"version":  libVersion(),
		"language": "go",
		"capabilities": []string{
			"maint_notifications", "relaxed_timeouts", "handoff", "moving_null_endpoint",
			"mode_auto", "mode_enabled", "resp2", "auth", "reconnect", "cluster", "tls",
			"blocking", "pubsub", "sharded_pubsub", "transactions",
		},
		"timeouts": map[string]any{"reply": "command"},
	})
}

func ms(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

// tlsConfigFor maps configure.tls onto a crypto/tls client configuration.
func tlsConfigFor(t *tlsSettings) (*tls.Config, error) {
	pem, err := os.ReadFile(t.CAFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", t.CAFile)
	}
	c := &tls.Config{RootCAs: roots, ServerName: t.ServerName, MinVersion: tls.VersionTLS12}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

func configError(msg string) {
	emit(map[string]any{"type": "error", "error_class": "config", "message": msg})
}

func (d *driver) configure(m *inMsg) {
	if m.Endpoint == nil || m.Endpoint.Host == "" || m.Endpoint.Port == 0 {
		configError("configure: endpoint {host, port} is required")
		return
	}
	s := m.Settings
	if s == nil {
		s = &settings{}
	}
	opt := &redis.Options{
		Addr: net.JoinHostPort(m.Endpoint.Host, strconv.Itoa(m.Endpoint.Port)),
	}
	if m.TLS != nil {
		tlsConfig, err := tlsConfigFor(m.TLS)
		if err != nil {
			configError("configure: tls: " + err.Error())
			return
		}
		// go-redis dials every connection (handoff ones too) with Options.TLSConfig; with
		// ServerName set, Go verifies that name whatever address was dialled.
		opt.TLSConfig = tlsConfig
	}
	if s.Protocol != nil {
		if *s.Protocol != 2 && *s.Protocol != 3 {
			configError(fmt.Sprintf("protocol must be 2 or 3, got %d", *s.Protocol))
			return
		}
		opt.Protocol = *s.Protocol
	}
	if s.TimeoutMs != nil && *s.TimeoutMs > 0 {
		// ReadTimeout bounds the wait for each reply; WriteTimeout follows it by default but is
		// set explicitly so both are the harness's value.
		opt.ReadTimeout = ms(*s.TimeoutMs)
		opt.WriteTimeout = ms(*s.TimeoutMs)
	}
	if s.ConnectTimeoutMs != nil && *s.ConnectTimeoutMs > 0 {
		opt.DialTimeout = ms(*s.ConnectTimeoutMs)
	}
	if s.PoolSize != nil && *s.PoolSize > 0 {
		opt.PoolSize = *s.PoolSize
	}
	if s.Username != nil {
		opt.Username = *s.Username
	}
	if s.Password != nil {
		opt.Password = *s.Password
	}
	if s.RetryIdempotent != nil && !*s.RetryIdempotent {
		// go-redis retries any command (INCR included) on network errors by default
		// (MaxRetries 3). retry_idempotent=false: no automatic re-send at all.
		opt.MaxRetries = -1
	}

	mn := &maintnotifications.Config{Mode: maintnotifications.ModeAuto}
	if s.Mode != nil {
		switch *s.Mode {
		case "disabled":
			mn.Mode = maintnotifications.ModeDisabled
		case "enabled":
			mn.Mode = maintnotifications.ModeEnabled
		case "auto":
			mn.Mode = maintnotifications.ModeAuto
		default:
			configError(fmt.Sprintf("unknown mode %q", *s.Mode))
			return
		}
	}
	if s.EndpointType != nil {
		et := maintnotifications.EndpointType(*s.EndpointType)
		if !et.IsValid() {
			configError(fmt.Sprintf("unknown endpoint_type %q", *s.EndpointType))
			return
		}
		mn.EndpointType = et
	}
	rawRelaxed, relaxedGiven := m.RawSet["relaxed_timeout_ms"]
	relaxationOff := (relaxedGiven && strings.TrimSpace(string(rawRelaxed)) == "null") ||
		(s.RelaxedTimeoutMs != nil && *s.RelaxedTimeoutMs < 0)
	switch {
	case relaxationOff:
		// null or negative: no relaxation. go-redis cannot switch it off (RelaxedTimeout must
		// be > 0), so relax to the normal timeout, which is the same thing.
		if s.TimeoutMs != nil && *s.TimeoutMs > 0 {
			mn.RelaxedTimeout = ms(*s.TimeoutMs)
		} else {
			mn.RelaxedTimeout = 5 * time.Second // go-redis's default ReadTimeout
		}
	case s.RelaxedTimeoutMs != nil && *s.RelaxedTimeoutMs > 0:
		mn.RelaxedTimeout = ms(*s.RelaxedTimeoutMs)
	}
	if s.PostHandoffRelaxedMs != nil && *s.PostHandoffRelaxedMs > 0 {
		mn.PostHandoffRelaxedDuration = ms(*s.PostHandoffRelaxedMs)
	}
	if s.HandoffTimeoutMs != nil && *s.HandoffTimeoutMs > 0 {
		mn.HandoffTimeout = ms(*s.HandoffTimeoutMs)
	}
	opt.MaintNotificationsConfig = mn

	// Count every TCP connection the client opens (pool dials and handoff dials alike): the
	// handoff worker dials through Options.Dialer as well.
	base := redis.NewDialer(opt)
	opt.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := base(ctx, network, addr)
		if err == nil {
			d.connsOpened.Add(1)
			emit(map[string]any{"type": "event", "t_ns": monoNs(), "name": "dial",
				"detail": map[string]any{"endpoint": addr}})
		} else {
			log.Printf("driver: dial %s failed: %v", addr, err)
		}
		return c, err
	}

	if d.client != nil {
		_ = d.client.Close()
	}
	cluster := s.Cluster != nil && *s.Cluster
	d.opt = nil
	if cluster {
		d.client = newClusterClient(opt)
	} else {
		d.opt = opt
		// NewClient panics when ModeEnabled cannot be initialised; that is the library's own
		// behaviour and is deliberately not recovered.
		standalone := redis.NewClient(opt)
		if mgr := standalone.GetMaintNotificationsManager(); mgr != nil {
			mgr.AddNotificationHook(eventHook{})
		}
		d.client = standalone
	}
	log.Printf("driver: configured addr=%s cluster=%t protocol=%d mode=%s endpoint_type=%q "+
		"read_timeout=%s relaxed=%s post_handoff=%s handoff_timeout=%s dial_timeout=%s pool=%d "+
		"max_retries=%d",
		opt.Addr, cluster, opt.Protocol, mn.Mode, mn.EndpointType, opt.ReadTimeout, mn.RelaxedTimeout,
		mn.PostHandoffRelaxedDuration, mn.HandoffTimeout, opt.DialTimeout, opt.PoolSize, opt.MaxRetries)
	emit(map[string]any{"type": "configured"})
}

// newClusterClient builds go-redis's OSS cluster client from the seed node with the same
// settings. Each node is an ordinary *redis.Client with its own pool and maintnotifications
// manager; the ClusterClient wires SMIGRATED on any node to a lazy CLUSTER SLOTS reload, but
// only when MaintNotificationsConfig is non-nil (NewClusterClient), which it always is here.
func newClusterClient(opt *redis.Options) *redis.ClusterClient {
	copt := &redis.ClusterOptions{
		Addrs:  []string{opt.Addr},
		Dialer: opt.Dialer,
		// The counting Dialer already speaks TLS; go-redis still needs TLSConfig on the node
		// options, because its auto endpoint type looks at it (FQDN types with TLS).
		TLSConfig:                opt.TLSConfig,
		Protocol:                 opt.Protocol,
		Username:                 opt.Username,
		Password:                 opt.Password,
		MaxRetries:               opt.MaxRetries,
		DialTimeout:              opt.DialTimeout,
		ReadTimeout:              opt.ReadTimeout,
		WriteTimeout:             opt.WriteTimeout,
		PoolSize:                 opt.PoolSize, // per node
		MaintNotificationsConfig: opt.MaintNotificationsConfig,
		// MaxRedirects stays at the library's default (3): following MOVED/ASK is the point.
	}
	c := redis.NewClusterClient(copt)
	c.OnNewNode(func(node *redis.Client) {
		if mgr := node.GetMaintNotificationsManager(); mgr != nil {
			mgr.AddNotificationHook(eventHook{})
		}
	})
	return c
}

// eventHook reports each maintenance notification as an informative event.
type eventHook struct{}

func (eventHook) PreHook(_ context.Context, _ push.NotificationHandlerContext, name string,
	n []interface{}) ([]interface{}, bool) {
	detail := map[string]any{}
	if len(n) > 1 {
		detail["seq"] = n[1]
	}
	if name == "MOVING" {
		if len(n) > 2 {
			detail["time_s"] = n[2]
		}
		if len(n) > 3 && n[3] != nil {
			detail["endpoint"] = fmt.Sprint(n[3])
		} else {
			detail["endpoint"] = nil
		}
	}
	emit(map[string]any{"type": "event", "t_ns": monoNs(), "name": strings.ToLower(name),
		"detail": detail})
	return n, true
}

func (eventHook) PostHook(_ context.Context, _ push.NotificationHandlerContext, name string,
	_ []interface{}, result error) {
	if result != nil {
		log.Printf("driver: handling %s failed: %v", name, result)
	}
}

func (d *driver) connect() {
	if d.client == nil {
		emit(map[string]any{"type": "connect_failed", "t_ns": monoNs(), "error_class": "other",
			"message": "connect before configure"})
		return
	}
	// go-redis connects lazily; a PING takes one connection through the whole handshake
	// (HELLO, CLIENT MAINT_NOTIFICATIONS, CLIENT SETINFO).
	err := d.client.Ping(context.Background()).Err()
	t := monoNs()
	if d.stopping.Load() {
		return // shutdown closed the client under us; no reply after bye
	}
	if err != nil {
		cls := classify(err)
		if cls == "server" || cls == "other" {
			cls = "handshake"
		}
		log.Printf("driver: connect failed: %v", err)
		emit(map[string]any{"type": "connect_failed", "t_ns": t, "error_class": cls,
			"message": err.Error()})
		return
	}
	emit(map[string]any{"type": "connected", "t_ns": t})
}

// classify maps go-redis's own error types onto the protocol's error classes.
func classify(err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case strings.HasPrefix(msg, "failed to enable maintnotifications"),
		strings.HasPrefix(msg, "failed to authenticate"),
		strings.HasPrefix(msg, "failed to initialize connection options"),
		strings.HasPrefix(msg, "failed to resolve credentials"):
		// initConn failures: wrapped redis errors that come from the handshake, not the command.
		return "handshake"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, redis.ErrPoolTimeout):
		return "timeout"
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return "connection"
		}
		return "timeout"
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		// go-redis unwraps initConn's "failed to enable maintnotifications: %w" /
		// "failed to authenticate: %w" before returning them (baseClient.initPooledConn), so a
		// command that needed a new connection gets the server's bare handshake error.
		lower := strings.ToLower(msg)
		if strings.Contains(lower, "maint_notifications") || strings.HasPrefix(msg, "WRONGPASS") ||
			strings.Contains(lower, "unknown command 'hello'") {
			return "handshake"
		}
		return "server"
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, redis.ErrClosed) ||
		errors.Is(err, unix.ECONNRESET) || errors.Is(err, unix.ECONNREFUSED) || errors.Is(err, unix.EPIPE) {
		return "connection"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return "connection"
	}
	if strings.Contains(msg, "connection") || strings.Contains(msg, "conn ") {
		return "connection"
	}
	return "other"
}

func render(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = render(e)
		}
		return out
	case map[any]any:
		vals := map[string]any{} // encoding/json sorts the keys
		for k, e := range x {
			vals[fmt.Sprint(render(k))] = render(e)
		}
		return vals
	default:
		return fmt.Sprint(x)
	}
}

func replyString(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case []any, map[any]any:
		b, err := json.Marshal(render(x))
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	default:
		return fmt.Sprint(x)
	}
}

// commandArgs turns a message's JSON arguments into Do's: strings as they are, anything else
// as its JSON text.
func commandArgs(raw []json.RawMessage) []any {
	args := make([]any, len(raw))
	for i, a := range raw {
		var s string
		if err := json.Unmarshal(a, &s); err == nil {
			args[i] = s
		} else {
			args[i] = string(a) // a number or literal: its JSON text
		}
	}
	return args
}

func (d *driver) command(m *inMsg) {
	id := m.ID
	if d.client == nil {
		now := monoNs()
		emit(map[string]any{"type": "result", "id": id, "ok": false, "error_class": "other",
			"message": "command before configure", "sent_ns": now, "t_ns": now})
		return
	}
	args := commandArgs(m.Args)
	d.commands.Add(1)
	d.inflight.Add(1)
	go func() {
		defer d.inflight.Done()
		sent := monoNs()
		res, err := d.client.Do(context.Background(), args...).Result()
		t := monoNs()
		out := map[string]any{"type": "result", "id": id, "sent_ns": sent, "t_ns": t}
		switch {
		case errors.Is(err, redis.Nil):
			out["ok"] = true
			out["reply"] = "nil"
		case err != nil:
			out["ok"] = false
			out["error_class"] = classify(err)
			out["message"] = err.Error()
		default:
			out["ok"] = true
			out["reply"] = replyString(res)
		}
		emit(out)
	}()
}

// transaction runs one MULTI/EXEC block through go-redis's own transaction API in a goroutine:
// TxPipelined (MULTI, the commands and EXEC written at once), inside Watch when the message
// asks for WATCH (Watch takes a connection of its own from the pool for the Tx, WATCH first,
// then the Tx's TxPipelined on that same connection). Never retried here.
func (d *driver) transaction(m *inMsg) {
	id := m.ID
	if d.client == nil {
		now := monoNs()
		emit(map[string]any{"type": "transaction_result", "id": id, "ok": false,
			"error_class": "other", "message": "transaction before configure", "sent_ns": now,
			"t_ns": now})
		return
	}
	commands := make([][]any, len(m.Commands))
	for i, c := range m.Commands {
		commands[i] = commandArgs(c)
	}
	watch := m.Watch
	d.inflight.Add(1)
	go func() {
		defer d.inflight.Done()
		ctx := context.Background()
		var cmds []redis.Cmder
		queue := func(pipe redis.Pipeliner) error {
			for _, args := range commands {
				pipe.Do(ctx, args...)
			}
			return nil
		}
		sent := monoNs()
		var err error
		if len(watch) > 0 {
			err = d.client.Watch(ctx, func(tx *redis.Tx) error {
				var txErr error
				cmds, txErr = tx.TxPipelined(ctx, queue)
				return txErr
			}, watch...)
		} else {
			cmds, err = d.client.TxPipelined(ctx, queue)
		}
		t := monoNs()
		out := map[string]any{"type": "transaction_result", "id": id, "sent_ns": sent, "t_ns": t}
		switch {
		case errors.Is(err, redis.TxFailedErr):
			out["ok"] = false
			out["error_class"] = "aborted" // EXEC answered null: a watched key changed
			out["message"] = err.Error()
		case err != nil:
			out["ok"] = false
			out["error_class"] = classify(err)
			out["message"] = err.Error()
		default:
			replies := make([]string, 0, len(cmds))
			for _, c := range cmds {
				res, cerr := c.(*redis.Cmd).Result()
				if cerr != nil && !errors.Is(cerr, redis.Nil) {
					replies = append(replies, cerr.Error())
					continue
				}
				replies = append(replies, replyString(res))
			}
			out["ok"] = true
			out["replies"] = replies
		}
		emit(out)
	}()
}

// block runs the workload's blocking consumer the way a go-redis application would: a
// redis.Client of its own from the same options (a pending BLPop holds a pool connection, which
// the command pool may not spare), one BLPop/BRPop at a time, each answer reported and the next
// call issued at once (10 ms after an error). A call cut by a handoff is left to go-redis.
func (d *driver) block(m *inMsg) {
	fail := func(msg string) {
		emit(map[string]any{"type": "block_failed", "t_ns": monoNs(), "error_class": "other",
			"message": msg})
	}
	if d.opt == nil {
		fail("block needs a configured standalone client")
		return
	}
	if (m.Command != "blpop" && m.Command != "brpop") || len(m.Keys) == 0 || m.Timeout < 0 {
		fail(fmt.Sprintf("unsupported block request: %s %v %v", m.Command, m.Keys, m.Timeout))
		return
	}
	consumer := redis.NewClient(d.opt)
	if mgr := consumer.GetMaintNotificationsManager(); mgr != nil {
		mgr.AddNotificationHook(eventHook{})
	}
	call := consumer.BLPop
	if m.Command == "brpop" {
		call = consumer.BRPop
	}
	timeout := time.Duration(m.Timeout * float64(time.Second))
	emit(map[string]any{"type": "block_started", "t_ns": monoNs()})
	go func() {
		for !d.stopping.Load() {
			sent := monoNs()
			res, err := call(context.Background(), timeout, m.Keys...).Result()
			out := map[string]any{}
			switch {
			case errors.Is(err, redis.Nil):
				out["type"] = "block_timeout"
			case err != nil:
				out["type"] = "block_error"
				out["error_class"] = classify(err)
				out["message"] = err.Error()
			case len(res) == 2:
				out["type"] = "popped"
				out["key"] = res[0]
				out["element"] = res[1]
			default:
				out["type"] = "block_error"
				out["error_class"] = "other"
				out["message"] = fmt.Sprintf("unexpected reply %q", res)
			}
			// Reported even while stopping: an element popped is the application's.
			out["sent_ns"] = sent
			out["t_ns"] = monoNs()
			emit(out)
			if err != nil && !errors.Is(err, redis.Nil) {
				time.Sleep(10 * time.Millisecond) // a client closed for good must not flood
			}
		}
	}()
}

// subscribe subscribes the way a go-redis application would: a redis.Client of its own from
// the same options (its PubSub connection opts in and is handed off by that client's manager),
// client.Subscribe or PSubscribe, Receive until every name is confirmed (go-redis's Subscribe
// does not wait), then PubSub.Channel(), whose goroutine reads on and reconnects and resubscribes
// after an error. Re-subscribing after a handoff is left to go-redis. Messages are reported as
// the redis-py driver reports them: channel, pattern (null for a plain message), payload.
func (d *driver) subscribe(m *inMsg) {
	fail := func(cls, msg string) {
		emit(map[string]any{"type": "subscribe_failed", "t_ns": monoNs(), "error_class": cls,
			"message": msg})
	}
	if cc, ok := d.client.(*redis.ClusterClient); ok && m.Kind == "shard" && len(m.Channels) > 0 {
		d.ssubscribe(cc, m.Channels, fail)
		return
	}
	if d.opt == nil || (m.Kind != "channel" && m.Kind != "pattern") || len(m.Channels) == 0 {
		fail("other", fmt.Sprintf("unsupported subscribe request: kind %q, %d names, standalone %t",
			m.Kind, len(m.Channels), d.opt != nil))
		return
	}
	d.subscriber = redis.NewClient(d.opt)
	if mgr := d.subscriber.GetMaintNotificationsManager(); mgr != nil {
		mgr.AddNotificationHook(eventHook{})
	}
	ctx := context.Background()
	confirm := "subscribe"
	if m.Kind == "pattern" {
		confirm = "psubscribe"
		d.pubsub = d.subscriber.PSubscribe(ctx, m.Channels...)
	} else {
		d.pubsub = d.subscriber.Subscribe(ctx, m.Channels...)
	}
	pending := map[string]bool{}
	for _, n := range m.Channels {
		pending[n] = true
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(pending) > 0 {
		left := time.Until(deadline)
		if left <= 0 {
			fail("timeout", fmt.Sprintf("no confirmation for %d of %d names", len(pending),
				len(m.Channels)))
			return
		}
		got, err := d.pubsub.ReceiveTimeout(ctx, min(left, 500*time.Millisecond))
		var nerr net.Error
		switch {
		case errors.As(err, &nerr) && nerr.Timeout():
			continue
		case err != nil:
			fail(classify(err), err.Error())
			return
		}
		switch x := got.(type) {
		case *redis.Subscription:
			if x.Kind == confirm {
				delete(pending, x.Channel)
			}
		case *redis.Message:
			deliver(x)
		}
	}
	emit(map[string]any{"type": "subscribed", "t_ns": monoNs()})
	go func() {
		for msg := range d.pubsub.Channel() {
			deliver(msg)
		}
	}()
}

// ssubscribe subscribes to shard channels the way a go-redis cluster application would:
// ClusterClient.SSubscribe, one PubSub per channel (go-redis pins a PubSub's connection to the
// node of its first channel's slot and sends all its channels in one SSUBSCRIBE, which the
// server refuses with CROSSSLOT for channels of different slots), Receive until the channel is
// confirmed, then PubSub.Channel(). Following a slot that moves is left to go-redis.
func (d *driver) ssubscribe(cc *redis.ClusterClient, channels []string, fail func(cls, msg string)) {
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for _, ch := range channels {
		ps := cc.SSubscribe(ctx, ch)
		d.shardSubs = append(d.shardSubs, ps)
		for confirmed := false; !confirmed; {
			left := time.Until(deadline)
			if left <= 0 {
				fail("timeout", fmt.Sprintf("no ssubscribe confirmation for %s", ch))
				return
			}
			got, err := ps.ReceiveTimeout(ctx, min(left, 500*time.Millisecond))
			var nerr net.Error
			switch {
			case errors.As(err, &nerr) && nerr.Timeout():
				continue
			case err != nil:
				fail(classify(err), fmt.Sprintf("SSUBSCRIBE %s: %v", ch, err))
				return
			}
			switch x := got.(type) {
			case *redis.Subscription:
				confirmed = x.Kind == "ssubscribe" && x.Channel == ch
			case *redis.Message:
				deliver(x)
			}
		}
	}
	emit(map[string]any{"type": "subscribed", "t_ns": monoNs()})
	for _, ps := range d.shardSubs {
		go func(ps *redis.PubSub) {
			for msg := range ps.Channel() {
				deliver(msg)
			}
		}(ps)
	}
}

func deliver(m *redis.Message) {
	var pattern any
	if m.Pattern != "" {
		pattern = m.Pattern
	}
	emit(map[string]any{"type": "message", "channel": m.Channel, "pattern": pattern,
		"payload": m.Payload, "t_ns": monoNs()})
}

func (d *driver) shutdown() {
	d.stopping.Store(true)
	done := make(chan struct{})
	go func() { d.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		log.Printf("driver: shutdown with commands still in flight")
	}
	if d.client != nil {
		if err := d.client.Close(); err != nil {
			log.Printf("driver: close: %v", err)
		}
	}
	if d.pubsub != nil {
		_ = d.pubsub.Close()
		_ = d.subscriber.Close()
	}
	for _, ps := range d.shardSubs {
		_ = ps.Close()
	}
	emit(map[string]any{"type": "bye", "stats": map[string]any{
		"connections_opened": d.connsOpened.Load(),
		"commands":           d.commands.Load(),
	}})
	os.Exit(0)
}

func main() {
	log.SetOutput(os.Stderr)
	log.SetFlags(log.Lmicroseconds)
	redis.SetLogger(stderrLogger{})
	d := &driver{}
	r := bufio.NewReaderSize(os.Stdin, 1<<16)
	for {
		line, err := r.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			var m inMsg
			jerr := json.Unmarshal(line, &m)
			if jerr == nil && m.Type == "configure" {
				var raw struct {
					Settings map[string]json.RawMessage `json:"settings"`
				}
				_ = json.Unmarshal(line, &raw)
				m.RawSet = raw.Settings
			}
			if jerr != nil {
				log.Printf("driver: bad input line %q: %v", line, jerr)
			} else {
				switch m.Type {
				case "hello":
					d.hello(&m)
				case "configure":
					d.configure(&m)
				case "connect":
					// Connect may block for the dial and handshake; the protocol expects the
					// reply before commands, but stdin keeps being read meanwhile.
					go d.connect()
				case "command":
					d.command(&m)
				case "subscribe":
					// Waits for the confirmations; stdin keeps being read meanwhile.
					go d.subscribe(&m)
				case "block":
					d.block(&m)
				case "transaction":
					d.transaction(&m)
				case "shutdown":
					d.shutdown()
				default:
					log.Printf("driver: ignoring message type %q", m.Type)
				}
			}
		}
		if err != nil {
			if err != io.EOF {
				log.Printf("driver: stdin: %v", err)
			}
			log.Printf("driver: stdin closed without shutdown")
			os.Exit(0)
		}
	}
}

type stderrLogger struct{}

func (stderrLogger) Printf(_ context.Context, format string, v ...interface{}) {
	log.Printf("go-redis: "+format, v...)
}
