package fal_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/falgo/fal"
	"github.com/falgo/fal/faltest"
)

// A fal-compatible server on loopback stands in for fal.ai in these
// examples; with a real key, fal.NewClient() talks to fal.ai instead.

func ExampleClient_Run() {
	srv := faltest.NewServer()
	defer srv.Close()
	c := srv.Client()

	res, err := c.Run(context.Background(), "falgo/echo", map[string]string{"greeting": "hello"})
	if err != nil {
		fmt.Println(err)
		return
	}
	var out struct{ Greeting string }
	_ = res.Decode(&out)
	fmt.Println(out.Greeting)
	// Output: hello
}

func ExampleClient_Subscribe() {
	srv := faltest.NewServer(faltest.WithDemoDelay(0))
	defer srv.Close()
	c := srv.Client()

	res, err := c.Subscribe(context.Background(), "fal-ai/flux/schnell",
		map[string]any{"prompt": "a lighthouse at dusk", "image_size": "square", "seed": 7},
		fal.OnQueueUpdate(func(s fal.Status) {
			if _, done := s.(fal.Completed); done {
				fmt.Println("completed")
			}
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range fal.FindFiles(res.Data) {
		fmt.Println(f.ContentType, f.Width, f.Height)
	}
	// Output:
	// completed
	// image/png 512 512
}

func ExampleClient_Stream() {
	srv := faltest.NewServer()
	defer srv.Close()
	c := srv.Client()

	for ev, err := range c.Stream(context.Background(), "falgo/echo", map[string]any{"_events": []string{"one", "two"}}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(string(ev.Data))
	}
	// Output:
	// "one"
	// "two"
}

func ExampleClient_Upload() {
	srv := faltest.NewServer()
	defer srv.Close()
	c := srv.Client()

	url, err := c.Upload(context.Background(), strings.NewReader("hello"), fal.WithFileName("hello.txt"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.HasPrefix(url, srv.URL))
	// Output: true
}

func ExampleHTTPError() {
	srv := faltest.NewServer(faltest.WithDemoDelay(0))
	defer srv.Close()

	_, err := srv.Client().Run(context.Background(), "fal-ai/flux/schnell", map[string]any{})
	var he *fal.HTTPError
	if errors.As(err, &he) {
		for _, f := range he.FieldErrors {
			fmt.Println(he.StatusCode, f.Field())
		}
	}
	// Output: 422 prompt
}
