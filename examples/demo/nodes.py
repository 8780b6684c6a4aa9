"""PocketFlow-style nodes for a small summarisation pipeline."""

import os
import time
from concurrent.futures import ThreadPoolExecutor

from openai import OpenAI
from pocketflow import AsyncNode, Node


class FetchArticles(AsyncNode):
    async def exec_async(self, urls):
        pages = []
        for url in urls:
            pages.append(await self.download(url))
            time.sleep(0.5)  # be polite to the server
        return pages


class Summarise(Node):
    def exec(self, text):
        client = OpenAI(api_key=os.environ["OPENAI_API_KEY"])
        response = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": f"Summarise: {text}"}],
        )
        return response.choices[0].message.content


def score_all(documents, score):
    pool = ThreadPoolExecutor(max_workers=4)
    futures = [pool.submit(score, document) for document in documents]
    return [future.result() for future in futures]
