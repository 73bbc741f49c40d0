package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// motoCompat repairs one known flaw of moto 5.2.1's X-Ray emulation, so that the check can be
// tested against moto_server: its GetTraceSummaries answer gives each summary "Users": {}, an
// object where the API has a list, and the SDK's strict decoder rejects the whole page. It is
// installed only with --endpoint-url (an emulator); real X-Ray answers go to the SDK untouched.
func motoCompat(stack *middleware.Stack) error {
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("tracecheckMotoCompat",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			if err != nil || middleware.GetOperationName(ctx) != "GetTraceSummaries" {
				return out, md, err
			}
			resp, ok := out.RawResponse.(*smithyhttp.Response)
			if !ok || resp.Body == nil {
				return out, md, err
			}
			body, readErr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if readErr != nil {
				return out, md, readErr
			}
			resp.Body = io.NopCloser(bytes.NewReader(fixTraceSummaries(body)))
			return out, md, nil
		}), middleware.After) // innermost: sees the raw answer before the SDK decodes it
}

// fixTraceSummaries drops a summary's "Users" when it is not a list; anything it cannot read
// goes through unchanged, for the SDK to report.
func fixTraceSummaries(body []byte) []byte {
	var page map[string]json.RawMessage
	if json.Unmarshal(body, &page) != nil {
		return body
	}
	var summaries []map[string]json.RawMessage
	if json.Unmarshal(page["TraceSummaries"], &summaries) != nil {
		return body
	}
	changed := false
	for _, s := range summaries {
		if users, ok := s["Users"]; ok && !bytes.HasPrefix(bytes.TrimSpace(users), []byte("[")) {
			delete(s, "Users")
			changed = true
		}
	}
	if !changed {
		return body
	}
	fixed, err := json.Marshal(summaries)
	if err != nil {
		return body
	}
	page["TraceSummaries"] = fixed
	out, err := json.Marshal(page)
	if err != nil {
		return body
	}
	return out
}
