// Package testenv starts the real parts of the system for tests and local runs: a PostgreSQL 15
// server in a temporary directory, a UDP listener standing in for the X-Ray daemon that parses
// the segment documents the services send, an OTLP/gRPC receiver standing in for the collector
// (OTLPReceiver), the products and payments services as processes, and Jaeger for the local run.
//
// Every Start* function taking a testing.TB stops what it started through tb.Cleanup. Each also has
// a variant without testing.TB (StartPostgresProcess, ListenSegments, StartSystemProcess) for
// commands such as cmd/local and the benchmarks; those return something with a Close method.
//
// Nothing here is a fake: the tests that use it exercise the same binaries, database and wire
// format as production, with only the network addresses changed.
package testenv
