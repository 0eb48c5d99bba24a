-- predicate live_product (sql)
DELETE FROM vx_p_live_product;
-- predicate live_product (sql)
INSERT OR IGNORE INTO vx_p_live_product SELECT DISTINCT t1.c0 FROM vx_rel_live AS t1 WHERE NOT EXISTS (SELECT 1 FROM vx_rel_counts AS t2 WHERE t2.c0 = t1.c0 AND t2.c1 = 'Other');
-- predicate close_live (sql)
DELETE FROM vx_p_close_live;
-- predicate close_live (sql)
INSERT OR IGNORE INTO vx_p_close_live SELECT DISTINCT t1.c0, t1.c1 FROM vx_dose AS t1, vx_p_live_product AS t2, vx_dose AS t3, vx_p_live_product AS t4 WHERE t2.c0 = t1.c3 AND t3.c0 = t1.c0 AND t4.c0 = t3.c3 AND (t1.c1 <> t3.c1) AND (t3.c2 < t1.c2) AND (t1.c2 < (min(julianday(t3.c2,'start of month','+1 months')+(CAST(strftime('%d',t3.c2) AS INTEGER)-1),julianday(t3.c2,'start of month','+2 months'))-2));
-- predicate step (sql)
DELETE FROM vx_p_step;
-- predicate step (sql)
INSERT OR IGNORE INTO vx_p_step SELECT DISTINCT t1.c0, t1.c1, t2.c1 FROM vx_dose AS t1, vx_dose AS t2 WHERE t2.c0 = t1.c0 AND (t1.c2 < t2.c2);
-- predicate path (sql)
DELETE FROM vx_p_path;
-- predicate path (sql)
INSERT OR IGNORE INTO vx_p_path WITH RECURSIVE vx_rec(c0, c1, c2) AS (SELECT DISTINCT t1.c0, t1.c1, t1.c2 FROM vx_p_step AS t1 UNION SELECT DISTINCT t1.c0, t1.c1, t2.c2 FROM vx_rec AS t1, vx_p_step AS t2 WHERE t2.c0 = t1.c0 AND t2.c1 = t1.c2) SELECT * FROM vx_rec;
-- predicate ping, pong (sql)
DELETE FROM vx_p_ping;
-- predicate ping, pong (sql)
DELETE FROM vx_p_pong;
-- predicate ping, pong (fixpoint)
INSERT OR IGNORE INTO vx_p_ping SELECT DISTINCT t1.c0, t1.c1 FROM vx_dose AS t1, vx_p_pong AS t2 WHERE t1.c3 = 'A' AND t2.c0 = t1.c0 AND t2.c1 = t1.c1;
-- predicate ping, pong (fixpoint)
INSERT OR IGNORE INTO vx_p_ping SELECT DISTINCT t1.c0, t1.c1 FROM vx_dose AS t1 WHERE t1.c3 = 'B';
-- predicate ping, pong (fixpoint)
INSERT OR IGNORE INTO vx_p_pong SELECT DISTINCT t1.c0, t1.c1 FROM vx_p_ping AS t1, vx_p_ping AS t2 WHERE t2.c0 = t1.c0 AND t2.c1 = t1.c1;
