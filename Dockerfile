# Ari server container image: one image, two roles.
#   docker run IMAGE relay            the relay (WebSockets), port 3502
#   docker run IMAGE ari-local serve  every REST function on one port, 3501
#   docker run IMAGE ari-local migrate
# Configuration comes from the environment only (see .env.example).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ENV CGO_ENABLED=0
RUN go build -trimpath -ldflags='-s -w' -o /out/relay ./relay \
 && go build -trimpath -ldflags='-s -w' -o /out/ari-local ./local

# distroless/static has CA certificates and tzdata and nothing else: no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/relay /out/ari-local /usr/local/bin/
ENV ARI_ENV=production PORT=3501 RELAY_PORT=3502
EXPOSE 3501 3502
USER nonroot:nonroot
ENTRYPOINT []
CMD ["relay"]
