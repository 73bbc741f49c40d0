// Package e2e holds the end-to-end tests of the two services: both run as processes built from
// this repository, products on a real PostgreSQL, and both send their segments to a UDP listener
// standing in for the X-Ray daemon. The tests read the traces from those segments.
package e2e
