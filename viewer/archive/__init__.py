"""Regional archive client: query, retrieve and cache over DIMSE and DICOMweb.

What the rest of Regard uses (no Qt here; every call may run in a worker thread):

* :class:`viewer.archive.source.StudySource` — the protocol the UI knows: ``search(level,
  keys)``, ``list_series(study)``, ``fetch(study, series=None, sop_uids=None, *,
  progress=, on_instance=, cancel=, first_series=)``. Implementations:
  ``ArchiveSource(node)`` (DIMSE or DICOMweb, fetching into the cache), ``CacheSource()``
  (offline), ``FolderSource(path)`` (folder, CD, DICOMDIR); ``open_source(spec)`` picks one
  from ``"cache"``, a path, a configured archive name or an address.
* ``fetch`` calls ``on_instance(path)`` for each complete Part 10 file as soon as it is
  stored — the first image of the chosen series first — and ``progress(Progress)``
  (instances, bytes, rate), in order, from worker threads; setting the ``cancel``
  :class:`threading.Event` stops it with :class:`~viewer.archive.errors.RetrieveCancelled`.
  The cache stays consistent whatever happens and a new ``fetch`` resumes.
* :mod:`viewer.archive.nodes` — archive nodes from ``config.toml`` (``[archives.NAME]``,
  ``[archive]`` for our AE title/port/timeout) or addresses ``dicom://AET@host:port``,
  ``dicoms://...``, ``http(s)://.../dicom-web``; secrets only from the keyring.
* :mod:`viewer.archive.federated` — the same search on several archives, merged.
* :mod:`viewer.archive.cache` — Part 10 files + SQLite index under ``$REGARD_HOME/cache``,
  integrity check, size/age eviction (LRU, pinned kept), prefetch via ``Retriever.prefetch``.
* :mod:`viewer.archive.orthanc` — a local Orthanc for tests, benchmarks and the demo:
  ``start_demo_archive(folder)`` returns a running server whose ``dimse_address`` and
  ``web_address`` are node addresses.

Errors are :class:`~viewer.archive.errors.ArchiveError` subclasses whose message names the
archive and what went wrong. Patient identifiers are never logged here.
"""
