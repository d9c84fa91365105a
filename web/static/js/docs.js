// Starts Swagger UI on /docs (kept in a file so the page needs no inline script).
window.SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
