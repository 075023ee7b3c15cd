package faltest_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/falgo/fal/faltest"
)

// A test starts a Server with its own app, then calls it through the fal
// client (or any HTTP client) exactly as it would call fal.
func Example() {
	srv := faltest.NewServer(faltest.WithApp("me/shout", func(ctx context.Context, req *faltest.Request) (any, error) {
		var in struct {
			Text string `json:"text"`
		}
		if err := req.Decode(&in); err != nil {
			return nil, err
		}
		if in.Text == "" {
			return nil, faltest.ValidationError("text", "field required")
		}
		return map[string]string{"text": strings.ToUpper(in.Text)}, nil
	}))
	defer srv.Close()

	res, err := srv.Client().Run(context.Background(), "me/shout", map[string]string{"text": "hello"})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(string(res.Data))
	fmt.Println(srv.Executions("me/shout"))
	// Output:
	// {"text":"HELLO"}
	// 1
}

// The built-in falgo/echo app returns its input; fault rules make the
// server misbehave on purpose, here answering the first run with a 429.
func ExampleWithFaults() {
	srv := faltest.NewServer(faltest.WithFaults(1, faltest.FaultRule{
		Route: "run", Kind: faltest.TooManyRequests, Count: 1,
	}))
	defer srv.Close()

	res, err := srv.Client().Run(context.Background(), "falgo/echo", map[string]int{"n": 1})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(string(res.Data))
	st := srv.Stats()
	fmt.Println(st.Requests["run"], st.Faults["run"])
	// Output:
	// {"n":1}
	// 2 1
}
