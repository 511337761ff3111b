"""The reference for serving throughput: a trivial FastAPI endpoint, served the same way."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
async def ping() -> dict[str, bool]:
    return {"ok": True}
