"""DBFS (``/api/2.0/dbfs``) and Files (``/api/2.0/fs``) endpoints over local folders."""

from __future__ import annotations

import base64
import shutil
from email.utils import formatdate
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from housemon_dagster_tests.databricks.emulator.http import ApiError, not_found, route
from housemon_dagster_tests.databricks.emulator.state import EmulatorState


def _status(path: Path, shown: str) -> dict[str, Any]:
    stat = path.stat()
    return {
        "path": shown,
        "is_dir": path.is_dir(),
        "file_size": 0 if path.is_dir() else stat.st_size,
        "modification_time": int(stat.st_mtime * 1000),
    }


def dbfs_mkdirs(state: EmulatorState, request: Request, body: Any) -> dict:
    state.dbfs_path(body["path"]).mkdir(parents=True, exist_ok=True)
    return {}


def dbfs_put(state: EmulatorState, request: Request, body: Any) -> dict:
    path = state.dbfs_path(body["path"])
    if path.exists() and not body.get("overwrite"):
        raise ApiError(
            400, "RESOURCE_ALREADY_EXISTS", f"A file or directory already exists at {body['path']}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(body.get("contents", "")))
    return {}


def dbfs_read(state: EmulatorState, request: Request, body: Any) -> dict:
    name = request.query_params["path"]
    path = state.dbfs_path(name)
    if not path.is_file():
        raise not_found("File", name)
    offset = int(request.query_params.get("offset", 0))
    length = int(request.query_params.get("length", 1 << 20))
    data = path.read_bytes()[offset : offset + length]
    return {"bytes_read": len(data), "data": base64.b64encode(data).decode()}


def dbfs_get_status(state: EmulatorState, request: Request, body: Any) -> dict:
    name = request.query_params["path"]
    path = state.dbfs_path(name)
    if not path.exists():
        raise not_found("File", name)
    return _status(path, name.removeprefix("dbfs:"))


def dbfs_list(state: EmulatorState, request: Request, body: Any) -> dict:
    name = request.query_params["path"].removeprefix("dbfs:")
    path = state.dbfs_path(name)
    if not path.exists():
        raise not_found("Directory", name)
    return {
        "files": [
            _status(child, f"{name.rstrip('/')}/{child.name}") for child in sorted(path.iterdir())
        ]
    }


def dbfs_delete(state: EmulatorState, request: Request, body: Any) -> dict:
    path = state.dbfs_path(body["path"])
    if path.is_dir():
        shutil.rmtree(path) if body.get("recursive") else path.rmdir()
    elif path.exists():
        path.unlink()
    return {}


def _fs_path(state: EmulatorState, request: Request, kind: str) -> tuple[str, Path]:
    name = "/" + request.path_params["path"]
    if not name.startswith("/Volumes/"):
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"{kind} path {name} is not in a volume")
    return name, state.local_path(name)


def fs_directory(state: EmulatorState, request: Request, body: Any) -> Any:
    name, path = _fs_path(state, request, "directory")
    if request.method == "PUT":
        path.mkdir(parents=True, exist_ok=True)
        return {}
    if not path.is_dir():
        raise not_found("Directory", name, "NOT_FOUND")
    if request.method == "DELETE":
        path.rmdir()
        return {}
    if request.method == "HEAD":
        return Response(status_code=200)
    contents = [
        {
            "path": f"{name.rstrip('/')}/{child.name}",
            "name": child.name,
            "is_directory": child.is_dir(),
            "file_size": 0 if child.is_dir() else child.stat().st_size,
            "last_modified": int(child.stat().st_mtime * 1000),
        }
        for child in sorted(path.iterdir())
    ]
    return {"contents": contents}


def fs_file(state: EmulatorState, request: Request, body: Any) -> Any:
    name, path = _fs_path(state, request, "file")
    if request.method == "PUT":
        if path.exists() and request.query_params.get("overwrite") != "true":
            raise ApiError(409, "ALREADY_EXISTS", f"file {name} already exists")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body if isinstance(body, bytes) else str(body).encode())
        return Response(status_code=204)
    if not path.is_file():
        raise not_found("File", name, "NOT_FOUND")
    if request.method == "DELETE":
        path.unlink()
        return Response(status_code=204)
    data = path.read_bytes()
    headers = {
        "content-length": str(len(data)),
        "content-type": "application/octet-stream",
        "last-modified": formatdate(path.stat().st_mtime, usegmt=True),
    }
    return Response(b"" if request.method == "HEAD" else data, headers=headers)


def routes(state: EmulatorState) -> list[Route]:
    return [
        route(state, "/api/2.0/dbfs/mkdirs", dbfs_mkdirs, ["POST"]),
        route(state, "/api/2.0/dbfs/put", dbfs_put, ["POST"]),
        route(state, "/api/2.0/dbfs/read", dbfs_read, ["GET"]),
        route(state, "/api/2.0/dbfs/get-status", dbfs_get_status, ["GET"]),
        route(state, "/api/2.0/dbfs/list", dbfs_list, ["GET"]),
        route(state, "/api/2.0/dbfs/delete", dbfs_delete, ["POST"]),
        route(
            state,
            "/api/2.0/fs/directories/{path:path}",
            fs_directory,
            ["PUT", "GET", "DELETE", "HEAD"],
        ),
        route(
            state,
            "/api/2.0/fs/files/{path:path}",
            fs_file,
            ["PUT", "GET", "DELETE", "HEAD"],
            raw_body=True,
        ),
    ]
