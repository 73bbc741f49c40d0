// Package awsapi proves the resource graph meshtrace declares against AWS's own API models
// and an AWS API emulator, not only against Pulumi's mocks (which accept anything).
//
// The check itself is Python (validate.py and its modules here), because botocore's service
// models and moto_server are Python: it translates each resource's Pulumi inputs into the AWS
// API request the provider would send, validates it against botocore's model of that
// operation, checks IAM documents, ECS rules and the ADOT collector config, and replays the
// requests into moto_server. This package's tests export the graphs for every stack and mode
// combination (graphs.ExportGraphs), run the check on them, and run it on deliberately broken
// copies to show that each kind of error is caught. It has no Go code of its own.
package awsapi
