"""Errors on the web: Chinese pages for people, JSON ``{"detail": …}`` for the API and health check."""

from __future__ import annotations

import http
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot import messages
from bot.web.templating import page

log = logging.getLogger(__name__)

ERROR_TEXT = messages.HTTP_ERRORS


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/healthz"))


def error_page(request: Request, status_code: int, message: str | None = None,
               headers: dict[str, str] | None = None) -> Response:
    text = message or ERROR_TEXT.get(status_code, messages.WEB_ERROR)
    if wants_json(request):
        response: Response = JSONResponse({"detail": text}, status_code=status_code)
    else:
        response = page(request, "error.html", status_code=status_code, status=status_code, message=text)
    response.headers.update(headers or {})
    return response


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    try:
        default = http.HTTPStatus(exc.status_code).phrase
    except ValueError:
        default = ""
    # Starlette's English default phrase is replaced by ours; a detail we raised ourselves is kept.
    message = None if exc.detail in (default, None, "") else str(exc.detail)
    return error_page(request, exc.status_code, message, exc.headers)


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if wants_json(request):
        return JSONResponse({"detail": exc.errors()}, status_code=422)
    return error_page(request, 400)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path)
    return error_page(request, 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, server_error)
