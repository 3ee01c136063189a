/** Demo page entry (placeholder until the client issue lands). */
document.body.dataset.ready = "true";
