"""A tiny load balancer for tests: each request goes to the next backend of its route, in turn.

Stands in for compose.yaml's nginx in front of the replicas: ``routes`` maps a path prefix to the
backends' base URLs; ``hits`` records which backend (by index) served each request, per prefix.
"""

from __future__ import annotations

import itertools

from aiohttp import ClientSession, ClientTimeout, web

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length", "content-encoding"}


class RoundRobin:
    def __init__(self, routes: dict[str, list[str]]) -> None:
        # Longest prefix first, so "/telegram" wins over "/".
        self.routes = dict(sorted(routes.items(), key=lambda item: -len(item[0])))
        self._turns = {prefix: itertools.cycle(range(len(backends))) for prefix, backends in routes.items()}
        self.hits: dict[str, list[int]] = {prefix: [] for prefix in routes}
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self.port = 0

    async def start(self, port: int = 0) -> RoundRobin:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._session = ClientSession(timeout=ClientTimeout(total=120), auto_decompress=False)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        prefix = next(p for p in self.routes if request.path.startswith(p))
        index = next(self._turns[prefix])
        self.hits[prefix].append(index)
        target = self.routes[prefix][index] + request.path_qs
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        assert self._session is not None
        async with self._session.request(request.method, target, headers=headers, data=await request.read(),
                                         allow_redirects=False) as upstream:
            body = await upstream.read()
            out = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
            return web.Response(status=upstream.status, body=body, headers=out)
