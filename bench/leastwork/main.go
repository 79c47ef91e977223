// Command leastwork gets what `postdeck status --json` reports about the
// node's identities with the least work a client can do: the two gRPC calls
// (PostInfoService.PostStates, SmesherService.SmesherIDs) sent and answered
// as raw bytes — no reflection, no decoding — and one GET /status per
// post-service, 32 at a time, over kept-alive connections. It is the floor
// BenchmarkLeastWork1000 measures `postdeck status` against; it is not part
// of postdeck.
//
//	leastwork -post ADDR -private ADDR -operators FILE
//
// FILE lists one operator address (host:port) a line. It prints how many
// bytes each gRPC answer had and how many /status answers were 200.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// rawCodec passes message bytes through untouched.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

func call(ctx context.Context, addr, method string) (int, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	req, resp := []byte{}, []byte{}
	err = conn.Invoke(ctx, method, &req, &resp, grpc.ForceCodec(rawCodec{}))
	return len(resp), err
}

func main() {
	post := flag.String("post", "", "the node's post listener")
	private := flag.String("private", "", "the node's private listener")
	opsFile := flag.String("operators", "", "file with one operator address a line")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var ops []string
	f, err := os.Open(*opsFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for sc := bufio.NewScanner(f); sc.Scan(); {
		ops = append(ops, sc.Text())
	}
	f.Close()

	var wg sync.WaitGroup
	var states, ids int
	var grpcErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		var e1, e2 error
		states, e1 = call(ctx, *post, "/spacemesh.v1.PostInfoService/PostStates")
		ids, e2 = call(ctx, *private, "/spacemesh.v1.SmesherService/SmesherIDs")
		if e1 != nil {
			grpcErr = e1
		} else {
			grpcErr = e2
		}
	}()

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	work := make(chan string)
	var ok atomic.Int64
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for addr := range work {
				resp, err := client.Get("http://" + addr + "/status")
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ok.Add(1)
				}
			}
		}()
	}
	for _, a := range ops {
		work <- a
	}
	close(work)
	wg.Wait()
	if grpcErr != nil {
		fmt.Fprintln(os.Stderr, grpcErr)
		os.Exit(1)
	}
	fmt.Printf("PostStates %d bytes, SmesherIDs %d bytes, %d/%d status 200\n", states, ids, ok.Load(), len(ops))
}
