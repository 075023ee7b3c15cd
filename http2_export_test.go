package fal

// CloseCleartextIdle drops the idle connections of WithHTTP2Cleartext's
// shared transport, so that tests end without their goroutines.
func CloseCleartextIdle() { cleartextHTTPClient.CloseIdleConnections() }
