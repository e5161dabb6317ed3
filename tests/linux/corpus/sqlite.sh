# sqlite3 (Debian's, built static): a database made, changed and read back by
# several processes in turn, with transactions, a rollback, an index, a
# constraint error, large rows (overflow pages), and two writers that meet
# each other's locks. linux_diff.py then checks test.db on the host.
# (Output goes through a pipe on both sides, so that sqlite3's buffering of
# its output, and so the order of output and errors, is the same.)
sqlite3 test.db <<'SQL' 2>&1 | cat
create table people(id integer primary key, name text not null, age int, email text unique);
begin;
with recursive n(i) as (select 1 union all select i + 1 from n where i < 2000)
insert into people(name, age, email) select 'person' || i, 18 + i % 60, 'p' || i || '@example.org' from n;
commit;
create index people_age on people(age);
select count(*), sum(age), min(name), max(name) from people;
update people set age = age + 1 where id % 7 = 0;
select changes();
delete from people where id % 11 = 0;
select changes(), count(*) from people;
begin;
delete from people;
select count(*) from people;
rollback;
select count(*) from people;
savepoint one;
insert into people(name, age) values('temporary', 1);
rollback to one;
release one;
select count(*) from people where name = 'temporary';
insert into people(name, email) values('duplicate', 'p1@example.org');
.mode column
.headers on
select age, count(*) as n from people where age between 20 and 24 group by age order by age;
.headers off
.mode list
create table blobs(k integer primary key, v blob);
insert into blobs(v) values(zeroblob(100000)), (zeroblob(5000)), (x'00ff');
select k, length(v) from blobs;
pragma integrity_check;
SQL
sqlite3 test.db 'select count(*), sum(age) from people; pragma integrity_check;'
sqlite3 test.db "update people set name = upper(name) where id < 4; select name from people where id < 4;"
# Two processes write at once: one holds a write transaction while the other tries.
sqlite3 test.db 'begin immediate; insert into people(name) values ("first"); select "holding";' &
wait
( sqlite3 test.db <<'SQL' 2>&1 | cat
begin exclusive;
insert into people(name) values('locker');
.shell sqlite3 test.db 'insert into people(name) values("blocked")' ; echo "other writer: $?"
commit;
SQL
)
sqlite3 test.db "select name from people where name in ('first', 'locker', 'blocked') order by name;"
sqlite3 test.db .dump | grep -c INSERT
ls
