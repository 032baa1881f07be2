package main

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrape reads the relay's /metrics: each series line, such as
// `ari_sockets_open{kind="client"}`, to its value.
func scrape(t *testing.T, r *relayProc) series {
	t.Helper()
	resp, err := http.Get("http://" + r.addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	return parseExposition(t, resp.Body)
}

type series map[string]float64

func parseExposition(t *testing.T, body io.Reader) series {
	t.Helper()
	s := series{}
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("exposition line %q: %v", line, err)
		}
		s[line[:i]] = v
	}
	return s
}

// waitMetric polls /metrics until ok holds for the series (bounded).
func waitMetric(t *testing.T, r *relayProc, name string, ok func(v float64) bool) float64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := scrape(t, r)[name]
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v after 10s", name, v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func atLeast(want float64) func(float64) bool { return func(v float64) bool { return v >= want } }
func exactly(want float64) func(float64) bool { return func(v float64) bool { return v == want } }

// The relay's /metrics moves with what happens on it: sockets open by kind,
// frames in and out by type, HTTP requests by route and status.
func TestMetricsMoveWithTraffic(t *testing.T) {
	// Two sends per minute: the third send_message is answered rate_limited.
	c := newCluster(t, map[string]string{"RATE_LIMIT_SEND_PER_MINUTE": "2", "RATE_LIMIT_SEND_BURST": "2"})
	r := c.start()
	w := newWorld(t, c)
	before := scrape(t, r)
	const (
		clients   = `ari_sockets_open{kind="client"}`
		agents    = `ari_sockets_open{kind="agent"}`
		health    = `ari_http_request_duration_seconds_count{route="GET /health",status="200"}`
		upgrades  = `ari_http_request_duration_seconds_count{route="GET /ws",status="101"}`
		sendIn    = `ari_frames_in_total{kind="client",type="send_message"}`
		invalidIn = `ari_frames_in_total{kind="client",type="invalid"}`
		authIn    = `ari_frames_in_total{kind="agent",type="auth"}`
		chunkIn   = `ari_frames_in_total{kind="agent",type="agent_chunk"}`
		ackOut    = `ari_frames_out_total{kind="client",type="message_ack"}`
		chunkOut  = `ari_frames_out_total{kind="client",type="stream_chunk"}`
		endOut    = `ari_frames_out_total{kind="client",type="stream_end"}`
		taskOut   = `ari_frames_out_total{kind="agent",type="task"}`
		authOKOut = `ari_frames_out_total{kind="agent",type="auth_ok"}`
		active    = `ari_replies_active`
		queued    = `ari_replies_queued_total`
		delivery  = `ari_chunk_delivery_seconds_count`
		limited   = `ari_frames_limited_total{type="send_message"}`
		pipelines = `ari_redis_round_trip_seconds_count{command="pipeline"}`
		queries   = `ari_postgres_round_trip_seconds_count{op="query",outcome="ok"}`
	)
	if _, err := http.Get("http://" + r.addr + "/health"); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, r, health, atLeast(before[health]+1))

	client := dialClient(t, r, w.users[0])
	waitMetric(t, r, clients, exactly(before[clients]+1))
	waitMetric(t, r, upgrades, atLeast(before[upgrades]+1))
	agent := dialAgent(t, r, w.agentToken)
	waitMetric(t, r, agents, exactly(before[agents]+1))
	waitMetric(t, r, authIn, atLeast(before[authIn]+1))
	waitMetric(t, r, authOKOut, atLeast(before[authOKOut]+1))

	client.sendMessage(w.conv, "hello", "m-metrics")
	reply := client.expect("stream_start").str("messageId")
	agent.expect("task")
	waitMetric(t, r, active, exactly(1))
	if ack := client.sendMessage(w.conv, "and then", "m-metrics-2"); ack["queued"] != true {
		t.Fatalf("second send not queued: %v", ack)
	}
	waitMetric(t, r, queued, atLeast(before[queued]+1))
	client.send(map[string]any{"type": "send_message", "conversationId": w.conv, "content": "too many", "clientMessageId": "m-metrics-3"})
	if e := client.expect("error"); e.str("code") != "rate_limited" {
		t.Fatalf("third send: %v", e)
	}
	waitMetric(t, r, limited, atLeast(before[limited]+1))
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "hi there", "mode": "delta"})
	agent.send(map[string]any{"type": "agent_complete", "taskId": reply})
	client.collect(reply, nil)
	waitMetric(t, r, delivery, atLeast(before[delivery]+1))
	waitMetric(t, r, pipelines, atLeast(before[pipelines]+1))
	waitMetric(t, r, queries, atLeast(before[queries]+1))
	// The queued reply starts; once it ends this instance drives none.
	reply2 := client.expect("stream_start").str("messageId")
	agent.expect("task")
	agent.send(map[string]any{"type": "agent_complete", "taskId": reply2, "content": "done"})
	client.collect(reply2, nil)
	waitMetric(t, r, active, exactly(0))
	waitMetric(t, r, sendIn, atLeast(before[sendIn]+1))
	waitMetric(t, r, ackOut, atLeast(before[ackOut]+1))
	waitMetric(t, r, taskOut, atLeast(before[taskOut]+1))
	waitMetric(t, r, chunkIn, atLeast(before[chunkIn]+1))
	waitMetric(t, r, chunkOut, atLeast(before[chunkOut]+1))
	waitMetric(t, r, endOut, atLeast(before[endOut]+1))

	client.sendRaw(1, []byte(`{"type":`))
	client.expect("error")
	waitMetric(t, r, invalidIn, atLeast(before[invalidIn]+1))

	_ = client.ws.Close()
	_ = agent.ws.Close()
	waitMetric(t, r, clients, exactly(before[clients]))
	waitMetric(t, r, agents, exactly(before[agents]))
}
