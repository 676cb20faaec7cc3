/* IndexedDB for the phone app, plain promises, no library.
   Stores (one database per signed-in officer):
     prepared  key entity.credit_code  what "下载检查" fetched: entity, open tasks, checklist, officers
     drafts    key client_key          an inspection in progress (results, attachments as Blobs, signatures)
     outbox    key client_key          submitted records waiting for (or done with) the server */
"use strict";
window.zjStore = (function () {
  const VERSION = 1;
  let opening = null;

  function open(name) {
    if (!opening) {
      opening = new Promise((resolve, reject) => {
        const req = indexedDB.open(name, VERSION);
        req.onupgradeneeded = () => {
          const db = req.result;
          db.createObjectStore("prepared", { keyPath: "entity.credit_code" });
          db.createObjectStore("drafts", { keyPath: "client_key" });
          db.createObjectStore("outbox", { keyPath: "client_key" });
        };
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
        req.onblocked = () => reject(new Error("indexedDB blocked"));
      });
    }
    return opening;
  }

  let dbName = "zhijian-mobile";

  function run(store, mode, action) {
    return open(dbName).then((db) => new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode);
      const req = action(tx.objectStore(store));
      tx.oncomplete = () => resolve(req ? req.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("aborted"));
    }));
  }

  return {
    use(name) { dbName = name; },
    get(store, key) { return run(store, "readonly", (s) => s.get(key)); },
    all(store) { return run(store, "readonly", (s) => s.getAll()); },
    put(store, value) { return run(store, "readwrite", (s) => s.put(value)); },
    remove(store, key) { return run(store, "readwrite", (s) => s.delete(key)); },
    /* Move a draft into the outbox in one transaction: a record is never in both or in neither. */
    submit(record) {
      return open(dbName).then((db) => new Promise((resolve, reject) => {
        const tx = db.transaction(["drafts", "outbox", "prepared"], "readwrite");
        tx.objectStore("outbox").put(record);
        tx.objectStore("drafts").delete(record.client_key);
        tx.objectStore("prepared").delete(record.payload.entity);
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error || new Error("aborted"));
      }));
    },
  };
})();
