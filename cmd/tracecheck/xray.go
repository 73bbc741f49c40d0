package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"
)

// batchGetTracesMax is the number of trace ids BatchGetTraces accepts in one call.
const batchGetTracesMax = 5

func newXRayClient(ctx context.Context, region, endpoint string) (*xray.Client, error) {
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %v", err)
	}
	// Fail before sending requests when no credentials can be had, instead of retrying X-Ray.
	if _, err := awsCfg.Credentials.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("no usable AWS credentials (%v): configure them as for the AWS CLI (AWS_PROFILE, aws sso login, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)", err)
	}
	return xray.NewFromConfig(awsCfg, func(o *xray.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.APIOptions = append(o.APIOptions, motoCompat)
		}
	}), nil
}

// pollTraces waits for the traces of the sent requests: it lists the traces that X-Ray has
// summarized in the window (GetTraceSummaries), fetches ours (BatchGetTraces) and verifies
// them, again with a growing delay until they pass or cfg.Wait is over. Segments of one trace
// reach X-Ray separately and a few seconds late, so an early partial trace is not a failure.
func pollTraces(ctx context.Context, client *xray.Client, cfg Config, sent []sentRequest, start time.Time, out io.Writer) (Result, error) {
	var ids []string
	labels := map[string]string{}
	for _, s := range sent {
		if _, seen := labels[s.TraceID]; !seen {
			ids = append(ids, s.TraceID)
			labels[s.TraceID] = s.label()
		} else {
			labels[s.TraceID] += ", " + s.label()
		}
	}

	deadline := time.Now().Add(cfg.Wait)
	delay := cfg.PollInterval
	if delay <= 0 {
		delay = time.Second
	}
	var last *Result
	var lastErr error
	for attempt := 1; ; attempt++ {
		res, summary, err := pollOnce(ctx, client, cfg, ids, labels, start)
		switch {
		case err != nil:
			lastErr = err
			fmt.Fprintf(out, "x-ray: attempt %d: %v\n", attempt, err)
			if permanent(err) {
				return Result{}, fmt.Errorf("X-Ray refused the request: %v", err)
			}
		default:
			last = &res
			fmt.Fprintf(out, "x-ray: attempt %d: %s\n", attempt, summary)
			if res.OK() {
				return res, nil
			}
		}
		if time.Now().Add(delay).After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return Result{}, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 10*time.Second)
	}
	if last == nil {
		return Result{}, fmt.Errorf("X-Ray did not answer within %s: %v", cfg.Wait, lastErr)
	}
	fmt.Fprintf(out, "x-ray: gave up after %s\n", cfg.Wait)
	return *last, nil
}

func pollOnce(ctx context.Context, client *xray.Client, cfg Config, ids []string, labels map[string]string, start time.Time) (Result, string, error) {
	// moto compares the trace's end with EndTime cut to whole seconds: leave a little room.
	listed, err := listTraceIDs(ctx, client, start, time.Now().Add(2*time.Second), cfg.Filter)
	if err != nil {
		return Result{}, "", fmt.Errorf("GetTraceSummaries: %w", err)
	}
	var found []string
	for _, id := range ids {
		if listed[id] {
			found = append(found, id)
		}
	}
	docs, err := batchGetTraces(ctx, client, found)
	if err != nil {
		return Result{}, "", fmt.Errorf("BatchGetTraces: %w", err)
	}
	var traces []Trace
	nDocs := 0
	for _, id := range ids {
		traces = append(traces, Trace{ID: id, Request: labels[id], Documents: docs[id]})
		nDocs += len(docs[id])
	}
	summary := fmt.Sprintf("GetTraceSummaries listed %d trace(s) in the window, %d of our %d; BatchGetTraces returned %d segment document(s)",
		len(listed), len(found), len(ids), nDocs)
	return Verify(traces, cfg.Expect), summary, nil
}

func listTraceIDs(ctx context.Context, client *xray.Client, start, end time.Time, filter string) (map[string]bool, error) {
	in := &xray.GetTraceSummariesInput{
		StartTime:     aws.Time(start),
		EndTime:       aws.Time(end),
		TimeRangeType: types.TimeRangeTypeTraceId,
	}
	if filter != "" {
		in.FilterExpression = aws.String(filter)
	}
	ids := map[string]bool{}
	pages := xray.NewGetTraceSummariesPaginator(client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range page.TraceSummaries {
			if s.Id != nil {
				ids[*s.Id] = true
			}
		}
	}
	return ids, nil
}

func batchGetTraces(ctx context.Context, client *xray.Client, ids []string) (map[string][]string, error) {
	docs := map[string][]string{}
	for i := 0; i < len(ids); i += batchGetTracesMax {
		chunk := ids[i:min(i+batchGetTracesMax, len(ids))]
		pages := xray.NewBatchGetTracesPaginator(client, &xray.BatchGetTracesInput{TraceIds: chunk})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, t := range page.Traces {
				if t.Id == nil {
					continue
				}
				for _, s := range t.Segments {
					if s.Document != nil {
						docs[*t.Id] = append(docs[*t.Id], *s.Document)
					}
				}
			}
		}
	}
	return docs, nil
}

// permanent tells errors that waiting will not fix (bad credentials, no permission, bad
// request) from throttling and server or network trouble.
func permanent(err error) bool {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	status := re.HTTPStatusCode()
	return status >= 400 && status < 500 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout
}
