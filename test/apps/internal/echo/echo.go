// Package echo holds what the echo server and client agree on: the gRPC method, carried
// without generated code, and the shape of the answers.
package echo

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Method is the full name of the unary gRPC method; the service is registered by hand so no
// protoc run is needed.
const (
	Service = "meshctl.test.Echo"
	Method  = "/" + Service + "/Echo"
)

// RawCodec passes message bytes through untouched. It keeps the name "proto" so requests carry
// the ordinary application/grpc content type, as generated code would send.
type RawCodec struct{}

func (RawCodec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case *[]byte:
		return *m, nil
	case []byte:
		return m, nil
	}
	return nil, fmt.Errorf("raw codec: cannot marshal %T", v)
}

func (RawCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw codec: cannot unmarshal into %T", v)
	}
	*m = append((*m)[:0], data...)
	return nil
}

func (RawCodec) Name() string { return "proto" }

// Handler answers one Echo call.
type Handler func(method string, md map[string][]string, req []byte) ([]byte, error)

// ServiceDesc builds the descriptor that grpc.Server.RegisterService needs for a Handler.
func ServiceDesc(h Handler) (*grpc.ServiceDesc, any) {
	type server interface{}
	desc := &grpc.ServiceDesc{
		ServiceName: Service,
		HandlerType: (*server)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Echo",
			Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				var req []byte
				if err := dec(&req); err != nil {
					return nil, err
				}
				md, _ := metadata.FromIncomingContext(ctx)
				out, err := h(Method, md, req)
				if err != nil {
					return nil, err
				}
				return &out, nil
			},
		}},
		Metadata: "echo",
	}
	return desc, struct{}{}
}
