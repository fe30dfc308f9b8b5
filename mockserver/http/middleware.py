"""connexion's request pipeline, with what depends only on the operation prepared once.

connexion 3.3 redoes on every request work whose result never changes for an operation: it
builds a URI parser and a parameter validator (ours compiles a jsonschema validator per
parameter) and media-type tables, decorates the handler again (inspecting its signature),
cleans argument names with regular expressions, and routes every request through the Swagger
UI's router first. Profiled, that work and the Python schema validators took most of each
request's time. The classes below are connexion's own with that work moved to start-up (or
cached), and with each body schema compiled once (see `compiled.py`). What is validated, and
the answer to every request, do not change.

connexion has no hook for the innermost app's operations; `App` swaps that app for one of
these before any API is added (connexion is pinned to 3.3.x in pyproject.toml).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from connexion import AsyncApp, utils
from connexion.apps.asynchronous import AsyncApi, AsyncASGIApp, AsyncOperation
from connexion.context import receive as current_receive
from connexion.context import scope as current_scope
from connexion.datastructures import MediaTypeDict
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import AsyncParameterDecorator
from connexion.exceptions import NonConformingResponseHeaders, UnsupportedMediaTypeProblem
from connexion.middleware import ConnexionMiddleware
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.middleware.response_validation import (
    ResponseValidationAPI,
    ResponseValidationMiddleware,
    ResponseValidationOperation,
)
from connexion.middleware.security import SecurityMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from starlette.routing import Mount, Route

from mockserver.asgi import Message, Scope
from mockserver.http.compiled import Compiled

ASGIApp = Callable[..., Any]
log = logging.getLogger("connexion.middleware.validation")

# Without a bound, a client sending ever new media types could grow a cache without end.
_MAX_SCHEMAS = 32


class _Schemas:
    """Compiled schemas of one operation, by schema object (the spec's dicts live as long)."""

    def __init__(self) -> None:
        self._found: dict[tuple[int, frozenset[str]], tuple[Any, Compiled]] = {}

    def get(self, schema: Any, validator_class: Any) -> Compiled | None:
        skips = getattr(validator_class, "NULLABLE_SKIPS", None)
        if skips is None:  # a validator that does not take a compiled schema
            return None
        key = (id(schema), skips)
        found = self._found.get(key)
        if found is None or found[0] is not schema:
            found = (schema, Compiled(schema, skips))
            if len(self._found) < _MAX_SCHEMAS:
                self._found[key] = found
        return found[1]


def _media_types(types: list[str]) -> MediaTypeDict | None:
    return MediaTypeDict([(t.lower(), None) for t in types]) if types else None


class _RequestValidationOperation(RequestValidationOperation):  # type: ignore[misc]
    def __init__(self, next_app: ASGIApp, **kwargs: Any) -> None:
        super().__init__(next_app, **kwargs)
        operation = self._operation
        self._uri_parser = operation.uri_parser_class(
            operation.parameters, operation.body_definition()
        )
        self._parameters = self._validator_map["parameter"](
            operation.parameters,
            uri_parser=self._uri_parser,
            strict_validation=self.strict_validation,
            security_query_params=self.security_query_params,
        )
        self._consumes = _media_types(operation.consumes)
        self._schemas = _Schemas()

    def validate_mime_type(self, mime_type: str) -> None:
        if self._consumes is not None and mime_type.lower() not in self._consumes:
            raise UnsupportedMediaTypeProblem(
                detail=f"Invalid Content-type ({mime_type}), expected {self._operation.consumes}"
            )

    def extract_content_type(self, headers: list[tuple[bytes, bytes]]) -> tuple[str, str]:
        # connexion assumes the first media type the operation takes when the header is missing,
        # validates the body as such, and then hands the handler bytes (a 500). The contract
        # says 415 unless the body is JSON; a body without a media type is not known to be.
        if self._consumes is not None and utils.extract_content_type(headers) is None:
            raise UnsupportedMediaTypeProblem(
                detail=f"No Content-type, expected {self._operation.consumes}"
            )
        mime_type, encoding = super().extract_content_type(headers)
        return mime_type, encoding

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        # connexion's RequestValidationOperation.__call__, with the prepared parts.
        self._parameters.validate(scope)
        mime_type, encoding = self.extract_content_type(scope["headers"])
        self.validate_mime_type(mime_type)
        schema = self._operation.body_schema(mime_type)
        if schema:
            try:
                body_validator = self._validator_map["body"][mime_type]
            except KeyError:
                log.info(f"Skipping validation. No validator registered for {mime_type}.")
            else:
                extra = {}
                compiled = self._schemas.get(schema, body_validator)
                if compiled is not None:
                    extra["compiled"] = compiled
                validator = body_validator(
                    schema=schema,
                    required=self._operation.request_body.get("required", False),
                    nullable=utils.is_nullable(self._operation.body_definition(mime_type)),
                    encoding=encoding,
                    strict_validation=self.strict_validation,
                    uri_parser=self._uri_parser,
                    **extra,
                )
                receive, scope = await validator.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)


class _RequestValidationAPI(RequestValidationAPI):  # type: ignore[misc]
    def make_operation(self, operation: Any) -> _RequestValidationOperation:
        return _RequestValidationOperation(
            self.next_app,
            operation=operation,
            strict_validation=self.strict_validation,
            validator_map=self.validator_map,
        )


class RequestValidation(RequestValidationMiddleware):  # type: ignore[misc]
    api_cls = _RequestValidationAPI


class _ResponseValidationOperation(ResponseValidationOperation):  # type: ignore[misc]
    def __init__(self, next_app: ASGIApp, **kwargs: Any) -> None:
        super().__init__(next_app, **kwargs)
        self._produces = _media_types(self._operation.produces)
        self._schemas = _Schemas()

    def validate_mime_type(self, mime_type: str) -> None:
        if self._produces is not None and mime_type.lower() not in self._produces:
            raise NonConformingResponseHeaders(
                detail=f"Invalid Response Content-type ({mime_type}), "
                f"expected {self._operation.produces}",
            )

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        # connexion's ResponseValidationOperation.__call__, with the prepared parts.
        async def wrapped_send(message: Message) -> None:
            nonlocal send
            if message["type"] == "http.response.start":
                headers = message["headers"]
                mime_type, encoding = self.extract_content_type(headers)
                if message["status"] < 400:
                    self.validate_mime_type(mime_type)
                status = str(message["status"])
                definition = self._operation.response_definition(status, mime_type)
                self.validate_required_headers(headers, definition)
                try:
                    body_validator = self._validator_map["response"][mime_type]
                except KeyError:
                    log.info(f"Skipping validation. No validator registered for {mime_type}.")
                else:
                    schema = self._operation.response_schema(status, mime_type)
                    extra = {}
                    compiled = self._schemas.get(schema, body_validator) if schema else None
                    if compiled is not None:
                        extra["compiled"] = compiled
                    validator = body_validator(
                        scope,
                        schema=schema,
                        nullable=utils.is_nullable(definition),
                        encoding=encoding,
                        **extra,
                    )
                    send = validator.wrap_send(send)
            await send(message)

        await self.next_app(scope, receive, wrapped_send)


class _ResponseValidationAPI(ResponseValidationAPI):  # type: ignore[misc]
    def make_operation(self, operation: Any) -> Any:
        if not self.validate_responses:
            return self.next_app
        return _ResponseValidationOperation(
            self.next_app, operation=operation, validator_map=self.validator_map
        )


class ResponseValidation(ResponseValidationMiddleware):  # type: ignore[misc]
    api_cls = _ResponseValidationAPI


class SwaggerUI(SwaggerUIMiddleware):  # type: ignore[misc]
    """connexion's Swagger UI middleware, which lets a request for none of its paths go by.

    connexion's sends every request through a starlette router of the UI's routes first; for
    the API's requests that was a tenth of their time, to find no match.
    """

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self._exact: set[str] = set()
        self._prefixes: tuple[str, ...] = ()
        self._every_path = False  # True when its routes cannot be read as plain paths

    def add_api(self, *args: Any, **kwargs: Any) -> None:
        super().add_api(*args, **kwargs)
        exact, prefixes = set(), []
        for mount in self.router.routes:
            for route in getattr(mount.app, "routes", ()):
                path = f"{mount.path}{route.path}"
                if not isinstance(mount, Mount) or "{" in path:
                    self._every_path = True
                elif isinstance(route, Route):
                    exact.add(path)
                elif isinstance(route, Mount):
                    prefixes.append(path.rstrip("/") + "/")
                else:
                    self._every_path = True
        self._exact, self._prefixes = exact, tuple(prefixes)

    def _serves(self, path: str) -> bool:
        # starlette's router also answers the same path with or without a final slash
        # (a redirect), so both are the UI's.
        other = path[:-1] if path.endswith("/") else path + "/"
        return (
            self._every_path
            or path in self._exact
            or other in self._exact
            or path.startswith(self._prefixes)
            or other.startswith(self._prefixes)
        )

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not self._serves(scope["path"]):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


_REPLACED = {
    SwaggerUIMiddleware: SwaggerUI,
    RequestValidationMiddleware: RequestValidation,
    ResponseValidationMiddleware: ResponseValidation,
}
# Tokens are checked by the gateway, which knows the account of the path (for 403); connexion's
# own security middleware would refuse every request of an apiKey scheme without an info func.
MIDDLEWARES = [
    _REPLACED.get(m, m)
    for m in ConnexionMiddleware.default_middlewares
    if m is not SecurityMiddleware
]


class _ParameterDecorator(AsyncParameterDecorator):  # type: ignore[misc]
    sanitize_fn: Callable[[str], str]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # connexion cleans each argument name with three regular expressions on every call;
        # the names are the spec's and the query's, so a bounded cache answers nearly all.
        self.sanitize_fn = functools.lru_cache(maxsize=256)(self.sanitize_fn)


class _Decorator(StarletteDecorator):  # type: ignore[misc]
    """connexion's decorator, which decorates the handler once rather than on every call."""

    @property
    def _parameter_decorator_cls(self) -> type[AsyncParameterDecorator]:
        return _ParameterDecorator

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        decorated = self.decorate(function)
        parser: list[Any] = []  # the operation's URI parser, made on the first call

        @functools.wraps(function)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not parser:
                parser.append(self.uri_parser)
            request = self.framework.get_request(
                uri_parser=parser[0], scope=current_scope, receive=current_receive
            )
            return await decorated(request)

        return wrapper


class _Operation(AsyncOperation):  # type: ignore[misc]
    @functools.cached_property
    def fn(self) -> Callable[..., Any]:
        decorator = _Decorator(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)
        return decorator(self._fn)


class _Api(AsyncApi):  # type: ignore[misc]
    def make_operation(self, operation: Any) -> _Operation:
        return _Operation.from_operation(  # type: ignore[no-any-return]
            operation, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier
        )


class _ASGIApp(AsyncASGIApp):  # type: ignore[misc]
    api_cls = _Api


class App(AsyncApp):  # type: ignore[misc]
    """connexion's AsyncApp, whose handlers are decorated once."""

    def __init__(self, import_name: str, **kwargs: Any) -> None:
        super().__init__(import_name, **kwargs)
        self._middleware_app = _ASGIApp()
        self.middleware.app = self._middleware_app
